import { describe, expect, it } from 'vitest';
import type { EpochRecord } from '../../src/train/epoch-record.js';
import { earlyStop } from '../../src/train/early-stopping.js';
import type { TrainingRun } from '../../src/train/training-run.js';

/** The parts of a run earlyStop reads: config, position, model weights, best snapshot. */
function fakeRun(epochs: number): TrainingRun {
  const run = {
    config: { train: { epochs, early_stopping: { metric: 'logloss_ctcvr', patience: 3 } } },
    pos: { best: null, sinceBest: 0 },
    model: { params: new Map([['w', Float32Array.of(1, 2)]]), embeddings: { tables: new Map() } },
    best: undefined,
  };
  // A stand-in holding only what earlyStop touches (a real run needs a model and an ORT session).
  return run as unknown as TrainingRun;
}

const record = (epoch: number, loss: number): EpochRecord => ({ epoch, steps: 1, seconds: 1, samplesPerSecond: 1, train: {}, valid: { logloss_ctcvr: loss } });

describe('early stopping snapshots', () => {
  it('snapshot a best epoch before the last, but not the last one (its weights are the model itself)', () => {
    const run = fakeRun(3);
    earlyStop(run, record(1, 0.5));
    expect(run.best?.params.get('w')).toEqual(Float32Array.of(1, 2));
    earlyStop(run, record(2, 0.6));
    expect(run.pos.best?.epoch).toBe(1);
    expect(run.best).toBeDefined();
    // The last epoch is best: no second copy of the weights, and the older snapshot is dropped (nothing to restore).
    earlyStop(run, record(3, 0.4));
    expect(run.pos.best?.epoch).toBe(3);
    expect(run.best).toBeUndefined();
  });

  it('keep the earlier snapshot when the last epoch is worse', () => {
    const run = fakeRun(2);
    earlyStop(run, record(1, 0.5));
    earlyStop(run, record(2, 0.6));
    expect(run.pos.best?.epoch).toBe(1);
    expect(run.best).toBeDefined();
  });
});
