/**
 * The epoch hook gets the model as it is after each epoch (bench/quality.ts --per-epoch scores the
 * test split after every epoch of one run), and the default run replayed from such a run is the
 * default run: the early-stopping rule applied to the per-epoch validation metrics keeps the same
 * epoch, whose test metrics are the ones the real early-stopped run reports.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/api/load-config.js';
import { loadData } from '../../src/api/load-data.js';
import { prepareLogged, trainAndEvaluate } from '../../src/api/pipeline.js';
import { evaluatePredictions } from '../../src/eval/evaluate.js';
import { replayKeptEpoch, trainPerEpoch } from '../../bench/quality-epochs.js';

const SMALL = {
  data: { synth: { rows: 8000, seed: 5, calibrationRows: 5000 } },
  model: { embedding_dim: 4, tower: [16] },
  train: { epochs: 4, batch_size: 256, learning_rate: 0.01, seed: 2, early_stopping: { metric: 'logloss_ctcvr', patience: 1 } },
};

describe('per-epoch scoring from one run', () => {
  it('hands the hook the model after each epoch, awaited before the run goes on', async () => {
    const config = loadConfig('esmm', { ...SMALL, train: { ...SMALL.train, early_stopping: false } });
    const data = await loadData(config.data, config.schema, { baseDir: config.baseDir, source: config.source });
    const features = prepareLogged(config, data);
    const seen: { epoch: number; auc: number; logloss: number }[] = [];
    const real = await trainAndEvaluate(config, {
      prepared: { data, features },
      onEpoch: async (record, model) => {
        await new Promise((r) => setTimeout(r, 20)); // the run waits for an async hook
        const m = evaluatePredictions(features.test!, await model.predictEncoded(features.test!));
        seen.push({ epoch: record.epoch, auc: m.auc_ctr!, logloss: m.logloss_ctcvr! });
      },
    });
    expect(seen.map((s) => s.epoch)).toEqual([1, 2, 3, 4]);
    expect(new Set(seen.map((s) => s.logloss)).size).toBe(4); // a different model each epoch
    // Without early stopping the final model is epoch 4's: the hook saw exactly it.
    expect(seen[3]!.auc).toBeCloseTo(real.metrics.auc_ctr!, 9);
    expect(seen[3]!.logloss).toBeCloseTo(real.metrics.logloss_ctcvr!, 9);
  }, 120_000);

  it('replays the default early-stopped run exactly', async () => {
    const config = loadConfig('esmm', SMALL);
    const real = await trainAndEvaluate(config);
    const [perEpoch] = await trainPerEpoch(config, ['esmm'], 4);
    const kept = replayKeptEpoch(perEpoch!.epochs, config.train.epochs, config.train.early_stopping);
    expect(kept).toBe(real.result.keptEpoch);
    expect(kept).toBeLessThan(4); // early stopping did act: an earlier epoch than the last is replayed
    const replayed = perEpoch!.epochs[kept - 1]!.test;
    for (const k of ['auc_cvr_entire_space', 'auc_ctr', 'auc_ctcvr', 'logloss_ctcvr']) expect(replayed[k]).toBeCloseTo(real.metrics[k]!, 6);
  }, 240_000);

  it('replays the default run with its post-hoc calibration: every test metric, calibration included', async () => {
    const config = loadConfig('esmm', { ...SMALL, train: { ...SMALL.train, calibration: 'platt' } });
    const real = await trainAndEvaluate(config);
    const [perEpoch] = await trainPerEpoch(config, ['esmm'], 4);
    const kept = replayKeptEpoch(perEpoch!.epochs, config.train.epochs, config.train.early_stopping);
    expect(kept).toBe(real.result.keptEpoch);
    const replayed = perEpoch!.epochs[kept - 1]!.test;
    // pCTCVR = pCTR' x pCVR' after calibration: its logloss and the pCVR level move with it.
    expect((real.summary.metrics_uncalibrated as Record<string, number>).logloss_ctcvr).not.toBeCloseTo(real.metrics.logloss_ctcvr!, 6);
    for (const k of ['auc_cvr_entire_space', 'auc_ctr', 'auc_ctcvr', 'logloss_ctr', 'logloss_ctcvr', 'calibration_cvr_entire_space']) expect(replayed[k]).toBeCloseTo(real.metrics[k]!, 6);
  }, 240_000);

  it('replays a rule with a fallback metric exactly, on either side of min_conversions', async () => {
    for (const min_conversions of [1, 1_000_000]) {
      const es = { metric: 'logloss_cvr_clicked', patience: 1, fallback_metric: 'logloss_ctcvr', min_conversions };
      const config = loadConfig('esmm', { ...SMALL, train: { ...SMALL.train, early_stopping: es } });
      const real = await trainAndEvaluate(config);
      const [perEpoch] = await trainPerEpoch(config, ['esmm'], 4);
      const kept = replayKeptEpoch(perEpoch!.epochs, config.train.epochs, config.train.early_stopping);
      expect(kept).toBe(real.result.keptEpoch);
      expect(perEpoch!.epochs[kept - 1]!.test.auc_cvr_entire_space).toBeCloseTo(real.metrics.auc_cvr_entire_space!, 6);
    }
  }, 240_000);
});
