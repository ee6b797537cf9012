/**
 * train.lr_decay (issue 17): after each epoch the dense and the embedding learning rates are
 * multiplied by it. With one step per epoch, the second epoch's step from the same weights and the
 * same gradient moves every parameter exactly lr_decay times as far as without decay (SGD: the
 * step is lr x g; Adam and Adagrad: the same moments, so the step is lr x the same direction).
 * lr_decay 1 is the run without it, bit for bit; a resumed run continues at its epoch's rate; the
 * key is checked when the config is loaded and shown in the start-of-training line.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/api/load-config.js';
import { describeOptimizers } from '../../src/api/describe-training.js';
import { trainAndEvaluate } from '../../src/api/pipeline.js';
import type { FunnelModel } from '../../src/models/model.js';
import { UserError } from '../../src/errors.js';
import { tempDir } from '../cli/helpers.js';

/** Every dense parameter and every embedding table, flattened, after each epoch. */
type Weights = { dense: Map<string, Float64Array>; tables: Float64Array[] };

function weightsOf(model: FunnelModel): Weights {
  return {
    dense: new Map([...model.params].map(([k, v]) => [k, Float64Array.from(v)])),
    tables: [...model.embeddings.tables.values()].flat().map((t) => Float64Array.from(t.denseWeights())),
  };
}

// 3000 impressions, batch larger than the training split: one step per epoch.
function config(train: Record<string, unknown>): ReturnType<typeof loadConfig> {
  return loadConfig('esmm', {
    data: { synth: { rows: 3000, seed: 4 } },
    model: { embedding_dim: 4, tower: [8] },
    train: { epochs: 3, batch_size: 8192, learning_rate: 0.01, seed: 2, early_stopping: false, threads: 1, ...train },
  });
}

async function perEpoch(train: Record<string, unknown>, opts: { outDir?: string; resume?: boolean; stopAfterSteps?: number } = {}): Promise<Weights[]> {
  const seen: Weights[] = [];
  let steps = 0;
  await trainAndEvaluate(config(train), {
    onEpoch: (_r, model) => {
      seen.push(weightsOf(model));
    },
    ...(opts.outDir !== undefined ? { outDir: opts.outDir } : {}),
    ...(opts.resume === true ? { resume: true } : {}),
    ...(opts.stopAfterSteps !== undefined ? { onProgress: () => {}, shouldStop: () => ++steps >= opts.stopAfterSteps! } : {}),
  });
  return seen;
}

function diff(a: Float64Array, b: Float64Array): Float64Array {
  return Float64Array.from(a, (x, i) => x - b[i]!);
}

/**
 * Norm of (epoch e's weights - epoch e-1's) in `decayed` over the same in `plain`: one ratio for
 * all dense parameters together, one for all embedding tables together (per parameter, a bias that
 * barely moves is a few float32 ulps, too coarse for a ratio).
 */
function moveRatios(decayed: Weights[], plain: Weights[], e: number): { dense: number; embeddings: number } {
  const sq = (a: Float64Array, b: Float64Array): number => diff(a, b).reduce((s, x) => s + x * x, 0);
  let dp = 0;
  let dd = 0;
  for (const [k, v] of plain[e]!.dense) {
    dp += sq(v, plain[e - 1]!.dense.get(k)!);
    dd += sq(decayed[e]!.dense.get(k)!, decayed[e - 1]!.dense.get(k)!);
  }
  let ep = 0;
  let ed = 0;
  plain[e]!.tables.forEach((t, k) => {
    ep += sq(t, plain[e - 1]!.tables[k]!);
    ed += sq(decayed[e]!.tables[k]!, decayed[e - 1]!.tables[k]!);
  });
  expect(dp).toBeGreaterThan(0);
  expect(ep).toBeGreaterThan(0);
  return { dense: Math.sqrt(dd / dp), embeddings: Math.sqrt(ed / ep) };
}

describe('train.lr_decay', () => {
  for (const [name, train] of [
    ['sgd dense, sgd embeddings', { optimizer: 'sgd', embedding_optimizer: 'sgd' }],
    ['in-graph adam dense, adagrad embeddings (the defaults)', {}],
    ['JavaScript adam dense, adam embeddings', { clip_norm: 1e6, embedding_optimizer: 'adam' }],
  ] as const) {
    it(`${name}: epoch 2 moves every parameter 0.5 times as far with lr_decay 0.5`, async () => {
      const plain = await perEpoch({ ...train, epochs: 2 });
      const decayed = await perEpoch({ ...train, epochs: 2, lr_decay: 0.5 });
      // Epoch 1 trains at the configured rate: the same weights.
      for (const [k, v] of plain[0]!.dense) expect(Array.from(decayed[0]!.dense.get(k)!)).toEqual(Array.from(v));
      const r = moveRatios(decayed, plain, 1);
      expect(r.dense).toBeCloseTo(0.5, 2); // float32 rounding of small steps: within 0.005
      expect(r.embeddings).toBeCloseTo(0.5, 2);
    }, 60_000);
  }

  it('lr_decay 1 is the run without it, bit for bit', async () => {
    const plain = await perEpoch({});
    const one = await perEpoch({ lr_decay: 1 });
    plain.forEach((w, e) => {
      for (const [k, v] of w.dense) expect(Array.from(one[e]!.dense.get(k)!)).toEqual(Array.from(v));
      w.tables.forEach((t, k) => expect(Array.from(one[e]!.tables[k]!)).toEqual(Array.from(t)));
    });
  }, 60_000);

  it('a run stopped after epoch 2 and resumed trains epoch 3 at lr x 0.25, as the run that was not stopped', async () => {
    const train = { optimizer: 'sgd', embedding_optimizer: 'sgd', lr_decay: 0.5 };
    const whole = await perEpoch(train);
    const dir = join(tempDir('esmm-lr-decay-'), 'out');
    const first = await perEpoch(train, { outDir: dir, stopAfterSteps: 2 });
    // Stopped right after epoch 2's only step (before its epoch end): the resumed run closes
    // epoch 2 without a step, then trains epoch 3 from the checkpoint's position.
    expect(first.length).toBe(1);
    const resumed = await perEpoch(train, { outDir: dir, resume: true });
    expect(resumed.length).toBe(2);
    const last = resumed[resumed.length - 1]!;
    for (const [k, v] of whole[2]!.dense) {
      const r = last.dense.get(k)!;
      v.forEach((x, i) => expect(r[i]!).toBeCloseTo(x, 6));
    }
    whole[2]!.tables.forEach((t, k) => t.forEach((x, i) => expect(last.tables[k]![i]!).toBeCloseTo(x, 6)));
  }, 60_000);

  for (const [name, extra] of [
    ['the striped dense update', {}],
    ['the main-thread dense optimizer (clip_norm)', { clip_norm: 1e6 }],
  ] as const) {
    it(`the data-parallel step (train.workers 2, ${name}) decays too: the same weights as one worker`, async () => {
      const train = { lr_decay: 0.5, ...extra };
      const one = await perEpoch(train);
      const two = await perEpoch({ ...train, workers: 2 });
      one.forEach((w, e) => {
        for (const [k, v] of w.dense) {
          const t = two[e]!.dense.get(k)!;
          v.forEach((x, i) => expect(t[i]!).toBeCloseTo(x, 4));
        }
        w.tables.forEach((t, k) => t.forEach((x, i) => expect(two[e]!.tables[k]![i]!).toBeCloseTo(x, 4)));
      });
    }, 60_000);
  }

  it('is checked when the config is loaded and shown in the start-of-training line', () => {
    expect(() => config({ lr_decay: 0 })).toThrow(UserError);
    expect(() => config({ lr_decay: 0 })).toThrow(/train\.lr_decay.*> 0/);
    expect(() => config({ lr_decay: 1.5 })).toThrow(/train\.lr_decay.*<= 1/);
    expect(() => config({ lr_decay: 'half' })).toThrow(/train\.lr_decay.*expected a number/);
    expect(() => config({ lr_decy: 0.5 })).toThrow(/train\.lr_decy/);
    expect(describeOptimizers(config({ lr_decay: 0.5 }))).toMatch(/; both x0\.5 per epoch \(train\.lr_decay\)$/);
    expect(describeOptimizers(config({}))).not.toMatch(/lr_decay/);
  });
});
