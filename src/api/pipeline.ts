import type { EsmmConfig } from '../config/types.js';
import type { FlatMetrics } from '../eval/evaluate.js';
import { saveModel } from '../models/persist.js';
import { metricsJson } from '../report/table.js';
import { computeCurves } from '../report/curves.js';
import type { TrainProgress } from '../train/progress.js';
import type { EpochRecord } from '../train/epoch-record.js';
import type { TrainResult } from '../train/trainer.js';
import { evaluatePredictions } from '../eval/evaluate.js';
import { loadData, type LoadedData } from './load-data.js';
import { prepareFeatures, type PreparedFeatures } from './prepare-features.js';
import { trainModel } from './train-model.js';
import { shouldStream, trainAndEvaluateStreaming } from './stream-pipeline.js';

export interface RunOptions {
  /** Save the model (and metrics.json, history.json) here. */
  outDir?: string;
  log?: (line: string) => void;
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** Continue from the checkpoint in outDir (written every train.checkpoint_every steps and each epoch). */
  resume?: boolean;
  /** Polled after each step; true stops the run after a checkpoint (SIGINT). */
  shouldStop?: () => boolean;
  /** Reuse data already loaded and encoded (compare trains several models on the same rows). */
  prepared?: { data: LoadedData; features: PreparedFeatures };
}

export interface RunResult {
  result: TrainResult;
  data: LoadedData;
  features: PreparedFeatures;
  /** Metrics on the test split (or the validation split when there is no test split). */
  metrics: FlatMetrics;
  /** Which split `metrics` were computed on. */
  evaluatedOn: 'test' | 'valid' | 'train';
  /** Everything written to metrics.json. */
  summary: Record<string, unknown>;
}

/** The whole workflow: load data, prepare features, train, evaluate, optionally save. */
export async function trainAndEvaluate(config: EsmmConfig, opts: RunOptions = {}): Promise<RunResult> {
  if (opts.prepared === undefined && (await shouldStream(config, opts.log))) return trainAndEvaluateStreaming(config, opts);
  const data = opts.prepared?.data ?? (await loadData(config.data, config.schema, { baseDir: config.baseDir, ...(opts.log !== undefined ? { log: opts.log } : {}) }));
  const features = opts.prepared?.features ?? prepareFeatures(config.schema, data, config.features);
  const result = await trainModel(config, features, {
    ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
    ...(opts.onEpoch !== undefined ? { onEpoch: opts.onEpoch } : {}),
    ...(opts.outDir !== undefined ? { checkpointDir: opts.outDir, dataFingerprint: dataFingerprint(data) } : {}),
    ...(opts.resume === true ? { resume: true } : {}),
    ...(opts.shouldStop !== undefined ? { shouldStop: opts.shouldStop } : {}),
  });
  if (result.interrupted) return { result, data, features, metrics: {}, evaluatedOn: 'train', summary: { interrupted: true } };
  const evaluatedOn = features.test !== undefined ? 'test' : features.valid !== undefined ? 'valid' : 'train';
  const evalSplit = features[evaluatedOn]!;
  const predictions = await result.model.predictEncoded(evalSplit);
  const metrics = evaluatePredictions(evalSplit, predictions);
  const summary = {
    model: config.model.name,
    evaluated_on: evaluatedOn,
    metrics,
    best_epoch: result.bestEpoch,
    resumed_from_step: result.resumedFromStep,
    stopped_early: result.stoppedEarly,
    skipped_rows: { train: data.stats.train.skippedByReason, valid: data.stats.valid?.skippedByReason, test: data.stats.test?.skippedByReason },
    oov: features.oov,
    history: result.history,
  };
  if (opts.outDir !== undefined) {
    await saveModel(result.model, opts.outDir, {
      'metrics.json': metricsJson(summary),
      'history.json': metricsJson({ history: result.history, step_loss: result.stepLoss }),
      // ROC points, reliability bins and funnel rates on the evaluated split, for `esmm report`.
      'curves.json': metricsJson(computeCurves(evalSplit, predictions, config.schema, evaluatedOn)),
    });
  }
  return { result, data, features, metrics, evaluatedOn, summary };
}

/** Which rows a run trained on: file paths, sizes and row counts (a resumed run must see the same). */
function dataFingerprint(d: LoadedData): string {
  return JSON.stringify({ files: d.files, rows: [d.train.rows, d.valid?.rows, d.test?.rows] });
}
