/**
 * Per-epoch scoring for bench/quality.ts --per-epoch N: each model trains N epochs without early
 * stopping, the test split is scored after every epoch (from the same run), and the default run is
 * replayed from that history: the built-in config's epochs and early-stopping rule (metric,
 * patience) applied to the per-epoch validation metrics give the epoch the defaults keep. With no
 * schedule that depends on the number of epochs (there is none), epochs 1..E of the N-epoch run are
 * the default E-epoch run's epochs, so its kept epoch's test metrics are the default's. The
 * post-hoc calibration a default run fits after training (train.calibration, 'auto' resolved as
 * api/calibrate-model.ts does) is fitted after every epoch here on that epoch's validation
 * predictions and applied to its test predictions, so each epoch's test metrics are what a run
 * stopped there would report. Validation metrics (what stopping rules see) stay uncalibrated, as
 * in training. Dumped predictions are the uncalibrated ones.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EarlyStoppingConfig, EsmmConfig } from '../src/config/types.js';
import { stoppingMetric } from '../src/train/early-stopping.js';
import type { EncodedChunk } from '../src/data/batch.js';
import type { Predictions } from '../src/models/model.js';
import { higherIsBetter, evaluatePredictions, type FlatMetrics } from '../src/eval/evaluate.js';
import { loadData } from '../src/api/load-data.js';
import { prepareLogged, trainAndEvaluate } from '../src/api/pipeline.js';
import { resolveCalibrationMethod } from '../src/api/calibrate-model.js';
import { fitCalibration } from '../src/models/calibration/fit.js';
import { calibratePredictions } from '../src/models/calibration/apply.js';

export interface EpochScores {
  epoch: number;
  valid: FlatMetrics;
  test: FlatMetrics;
}

export interface ModelEpochs {
  model: string;
  epochs: EpochScores[];
  seconds: number;
}

/**
 * Train every model for `epochs` epochs (no early stopping) on the same rows, scoring test after each epoch.
 * With `dumpDir`, every epoch's validation and test predictions (pCTR, pCVR, pCTCVR) are written
 * there as raw little-endian float32 files, with the splits' labels, so that stopping rules that
 * combine towers from different epochs can be replayed offline (bench/quality-rules.ts).
 */
export async function trainPerEpoch(config: EsmmConfig, models: string[], epochs: number, dumpDir?: string): Promise<ModelEpochs[]> {
  const data = await loadData(config.data, config.schema, { baseDir: config.baseDir, source: config.source });
  const features = prepareLogged(config, data);
  const test = features.test;
  if (test === undefined) throw new Error('--per-epoch needs a test split');
  const valid = features.valid;
  if (dumpDir !== undefined) {
    if (valid === undefined) throw new Error('--dump needs a validation split');
    mkdirSync(dumpDir, { recursive: true });
    dumpLabels(dumpDir, 'valid', valid);
    dumpLabels(dumpDir, 'test', test);
  }
  const out: ModelEpochs[] = [];
  for (const name of models) {
    const { early_stopping: _off, ...train } = config.train;
    const cfg: EsmmConfig = { ...config, model: { ...config.model, name }, train: { ...train, epochs } };
    const { method } = resolveCalibrationMethod(cfg, valid);
    const scores: EpochScores[] = [];
    const t0 = performance.now();
    const r = await trainAndEvaluate(cfg, {
      prepared: { data, features },
      onEpoch: async (record, model) => {
        const testPred = await model.predictUncalibrated(test);
        const validPred = valid !== undefined && (method !== 'none' || dumpDir !== undefined) ? await model.predictUncalibrated(valid) : undefined;
        const scored = method === 'none' ? testPred : calibratePredictions(testPred, fitCalibration(method, valid!, validPred!, 'valid'));
        scores.push({ epoch: record.epoch, valid: record.valid ?? {}, test: evaluatePredictions(test, scored) });
        if (dumpDir !== undefined) {
          dumpPredictions(dumpDir, `${name}-e${record.epoch}-test`, testPred);
          dumpPredictions(dumpDir, `${name}-e${record.epoch}-valid`, validPred!);
        }
      },
    });
    await r.result.model.release();
    out.push({ model: name, epochs: scores, seconds: (performance.now() - t0) / 1000 });
  }
  return out;
}

function writeF32(path: string, a: Float32Array): void {
  writeFileSync(path, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

function dumpLabels(dir: string, split: string, chunk: EncodedChunk): void {
  writeF32(join(dir, `${split}-click.f32`), chunk.labels.click);
  writeF32(join(dir, `${split}-buy.f32`), chunk.labels.buy);
  for (const [k, v] of chunk.truth) writeF32(join(dir, `${split}-${k}.f32`), v);
}

function dumpPredictions(dir: string, prefix: string, p: Predictions): void {
  for (const k of ['pctr', 'pcvr', 'pctcvr'] as const) writeF32(join(dir, `${prefix}-${k}.f32`), p[k]);
}

/**
 * The epoch a run with train.epochs = `epochs` and this early-stopping rule keeps, replayed on
 * per-epoch validation metrics exactly as train/early-stopping.ts judges them (first best wins;
 * `patience` epochs without a better score stop the run). Without early stopping: the last epoch.
 */
export function replayKeptEpoch(history: EpochScores[], epochs: number, es: EarlyStoppingConfig | undefined): number {
  const n = Math.min(epochs, history.length);
  if (es === undefined) return n;
  let best: { epoch: number; score: number } | null = null;
  let since = 0;
  for (const h of history.slice(0, n)) {
    const metric = stoppingMetric(es, h.valid);
    const score = h.valid[metric];
    if (score === undefined) throw new Error(`no validation ${metric} in epoch ${h.epoch}`);
    const better = best === null || (higherIsBetter(metric) ? score > best.score : score < best.score);
    if (better) {
      best = { epoch: h.epoch, score };
      since = 0;
    } else if (++since >= es.patience) break;
  }
  return best?.epoch ?? n;
}

/** The epoch (1-based) with the highest value of a test metric. */
export function bestEpochBy(history: EpochScores[], key: string): number {
  let best = history[0]!;
  for (const h of history) if ((h.test[key] ?? -Infinity) > (best.test[key] ?? -Infinity)) best = h;
  return best.epoch;
}
