import { taskNames, type TaskNames } from '../data/task-names.js';
import type { EsmmConfig } from '../config/types.js';
import type { FlatMetrics } from '../eval/evaluate.js';
import { saveModel } from '../models/persist.js';
import { metricsJson } from '../report/table.js';
import { computeCurves } from '../report/curves.js';
import type { TrainProgress } from '../train/progress.js';
import type { EpochRecord } from '../train/epoch-record.js';
import type { TrainResult } from '../train/trainer.js';
import type { FunnelModel } from '../models/model.js';
import { evaluatePredictions } from '../eval/evaluate.js';
import { guardLeakage } from '../features/leakage-guard.js';
import { checkPredictions } from '../train/guard.js';
import { stoppingMetric } from '../train/early-stopping.js';
import { UserError } from '../errors.js';
import { loadData, type LoadedData } from './load-data.js';
import { prepareFeatures, type PreparedFeatures } from './prepare-features.js';
import { trainModel } from './train-model.js';
import { describeCompute, describeOptimizers } from './describe-training.js';
import { calibrateModel, requireCalibrationSplit } from './calibrate-model.js';
import { shouldStream, trainAndEvaluateStreaming } from './stream-pipeline.js';
import { partitionRows, trainWorker, type WorkerOptions } from '../distributed/worker-trainer.js';
import { loadPartition, readsOwnPartition } from './load-partition.js';
import { storeSpecExchange } from '../distributed/spec-share.js';

export interface RunOptions {
  /** Save the model (and metrics.json, history.json) here. */
  outDir?: string;
  log?: (line: string) => void;
  onProgress?: (p: TrainProgress) => void;
  /** After each epoch, with the model as it is then (see TrainOptions.onEpoch). */
  onEpoch?: (r: EpochRecord, model: FunnelModel) => void | Promise<void>;
  /** Continue from the checkpoint in outDir (written every train.checkpoint_every steps and each epoch). */
  resume?: boolean;
  /** Polled after each step; true stops the run after a checkpoint (SIGINT). */
  shouldStop?: () => boolean;
  /** Write the model into a non-empty directory that is not an esmm model directory (never replacing files esmm did not write). */
  force?: boolean;
  /** Reuse data already loaded and encoded (compare trains several models on the same rows). */
  prepared?: { data: LoadedData; features: PreparedFeatures };
  /** Train as worker I of N over a shared table store (src/distributed); only worker 0 evaluates and saves. */
  distributed?: Omit<WorkerOptions, 'log' | 'onProgress' | 'onEpoch' | 'shouldStop'>;
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
  // A store worker reading its own share of the files holds 1/N of the rows: the memory budget is judged on that.
  const shares = opts.distributed !== undefined && readsOwnPartition(config, opts.distributed.workers) ? opts.distributed.workers : 1;
  if (opts.prepared === undefined && (await shouldStream(config, opts.log, shares))) {
    if (opts.distributed !== undefined) {
      throw new UserError("streaming training cannot be combined with --store yet; each worker holds its own share of the training files in memory: drop train.streaming, or raise train.memory_budget or the number of workers", { key: config.train.streaming !== undefined ? 'train.streaming' : 'train.memory_budget' });
    }
    return trainAndEvaluateStreaming(config, opts);
  }
  const dist = opts.distributed;
  // A store worker of N > 1 on files reads only its own share of them (load-partition.ts).
  const own = dist !== undefined && opts.prepared === undefined && readsOwnPartition(config, dist.workers) ? await loadPartition(config, dist.worker, dist.workers, opts.log, storeSpecExchange(dist.store, dist.runId, dist.worker, opts.log ?? (() => {}))) : undefined;
  const data = own?.data ?? opts.prepared?.data ?? (await loadData(config.data, config.schema, { baseDir: config.baseDir, source: config.source, ...(opts.log !== undefined ? { log: opts.log } : {}) }));
  // A feature that is a label in disguise stops training here, before anything is fitted.
  if (own === undefined) guardLeakage(config.schema, data.train, opts.log !== undefined ? { log: opts.log } : {});
  const features = own?.features ?? opts.prepared?.features ?? prepareLogged(config, data, opts.log);
  // Only worker 0 validates and evaluates (the others have no validation split).
  if (dist === undefined || dist.worker === 0) requireCalibrationSplit(config, features);
  opts.log?.(describeOptimizers(config));
  if (dist === undefined) opts.log?.(describeCompute(config));
  // The worker's training rows: its own share read, or (simulated data, one worker) rows with index mod N == I.
  const part = dist === undefined ? undefined : own !== undefined ? features.train : partitionRows(features.train, dist.worker, dist.workers);
  const result = dist !== undefined
    ? await trainWorker(config, features.spec, part!, features.valid, {
      ...dist,
      ...(opts.outDir !== undefined && dist.worker === 0 ? { checkpointDir: opts.outDir } : {}),
      ...(opts.log !== undefined ? { log: opts.log } : {}),
      ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
      ...(opts.onEpoch !== undefined ? { onEpoch: opts.onEpoch } : {}),
      ...(opts.shouldStop !== undefined ? { shouldStop: opts.shouldStop } : {}),
    })
    : await trainModel(config, features, {
      ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
      ...(opts.onEpoch !== undefined ? { onEpoch: opts.onEpoch } : {}),
      ...(opts.outDir !== undefined ? { checkpointDir: opts.outDir, dataFingerprint: dataFingerprint(data) } : {}),
      ...(opts.resume === true ? { resume: true } : {}),
      ...(opts.shouldStop !== undefined ? { shouldStop: opts.shouldStop } : {}),
    });
  // Workers other than 0 hold only the rows they pulled: worker 0 evaluates and writes the model.
  if (dist !== undefined && dist.worker !== 0 && !result.interrupted) {
    return { result, data, features, metrics: {}, evaluatedOn: 'train', summary: { worker: dist.worker } };
  }
  if (result.interrupted) return { result, data, features, metrics: {}, evaluatedOn: 'train', summary: { interrupted: true } };
  logBestEpoch(config, result, opts.log);
  const evaluatedOn = features.test !== undefined ? 'test' : features.valid !== undefined ? 'valid' : 'train';
  const evalSplit = features[evaluatedOn]!;
  const t0 = performance.now();
  const calibrated = await calibrateModel(result.model, config, features, evaluatedOn, evalSplit, opts.log);
  const predictions = await result.model.predictEncoded(evalSplit);
  const metrics = evaluatePredictions(evalSplit, predictions);
  opts.log?.(`evaluated on the ${evaluatedOn} split (${evalSplit.rows.toLocaleString('en-US')} rows) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // Degenerate-run guard: symptoms from training (loss spikes) and from the evaluated predictions.
  const warnings = [...result.warnings, ...checkPredictions({ pctr: predictions.pctr, pcvr: predictions.pcvr, pctcvr: predictions.pctcvr }, metrics)];
  for (const w of warnings) (opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`warning (${w.symptom}): ${w.message}`);
  const summary = {
    model: config.model.name,
    evaluated_on: evaluatedOn,
    metrics,
    // Display names of the metric keys' tasks (auc_ctr -> task_names.ctr): the keys never change.
    task_names: presentTasks(taskNames(config.schema), config),
    ...calibrated,
    // best_epoch: judged on validation by early stopping (null when it did not run);
    // kept_epoch: the epoch whose weights were evaluated and saved.
    best_epoch: result.bestEpoch ?? null,
    kept_epoch: result.keptEpoch,
    early_stopping: config.train.early_stopping ?? null,
    // The metric early stopping judged on (the fallback when validation had too few conversions).
    early_stopping_metric: config.train.early_stopping !== undefined && result.history[0]?.valid !== undefined ? stoppingMetric(config.train.early_stopping, result.history[0].valid) : null,
    resumed_from_step: result.resumedFromStep,
    stopped_early: result.stoppedEarly,
    skipped_rows: { train: data.stats.train.skippedByReason, valid: data.stats.valid?.skippedByReason, test: data.stats.test?.skippedByReason },
    oov: features.oov,
    rows: { train: own?.trainRows ?? features.train.rows, valid: features.valid?.rows, test: features.test?.rows },
    ...(part !== undefined ? { partition_rows: part.rows } : {}),
    train_seconds: result.history.reduce((s, r) => s + r.seconds, 0),
    history: result.history,
    warnings,
  };
  if (opts.outDir !== undefined) {
    await saveModel(result.model, opts.outDir, {
      'metrics.json': metricsJson(summary),
      'history.json': metricsJson({ history: result.history, step_loss: result.stepLoss }),
      // ROC points, reliability bins and funnel rates on the evaluated split, for `esmm report`.
      'curves.json': metricsJson(computeCurves(evalSplit, predictions, config.schema, evaluatedOn)),
    }, { force: opts.force === true });
  }
  if (config.train.strict === true && warnings.length > 0) {
    const w = warnings[0]!;
    throw new UserError(`degenerate run (${w.symptom}): ${w.message}${warnings.length > 1 ? ` (and ${warnings.length - 1} more in metrics.json)` : ''}`, { key: 'train.strict' });
  }
  return { result, data, features, metrics, evaluatedOn, summary };
}

/** The task names of the tasks this schema has (action only with action labels). */
function presentTasks(names: TaskNames, config: EsmmConfig): Partial<TaskNames> {
  const { action, ...rest } = names;
  return (config.schema.labels.actions ?? []).length > 0 ? { ...rest, action } : rest;
}

/** Which rows a run trained on: file paths, sizes and row counts (a resumed run must see the same). */
function dataFingerprint(d: LoadedData): string {
  return JSON.stringify({ files: d.files, rows: [d.train.rows, d.valid?.rows, d.test?.rows] });
}

/** Fit the features on train and encode every split, saying how long it took and the OOV rates. */
export function prepareLogged(config: EsmmConfig, data: LoadedData, log?: (line: string) => void): PreparedFeatures {
  const t0 = performance.now();
  const features = prepareFeatures(config.schema, data, config.features);
  const rows = data.train.rows + (data.valid?.rows ?? 0) + (data.test?.rows ?? 0);
  const s = (performance.now() - t0) / 1000;
  log?.(`features fitted on ${data.train.rows.toLocaleString('en-US')} train rows, ${rows.toLocaleString('en-US')} rows encoded in ${s.toFixed(1)} s (${Math.round(rows / Math.max(s, 1e-3)).toLocaleString('en-US')} rows/s)`);
  for (const split of ['valid', 'test'] as const) {
    const line = oovLine(features.oov[split], data[split]?.rows ?? 0);
    if (line !== undefined) log?.(`  out-of-vocabulary in ${split} (values unseen in train): ${line}`);
  }
  return features;
}

/** "user_id 0.90% (18), item_id 0.20% (4)", or undefined when nothing was unseen. */
export function oovLine(oov: Record<string, number> | undefined, rows: number): string | undefined {
  const parts = Object.entries(oov ?? {})
    .filter(([, n]) => n > 0)
    .map(([field, n]) => `${field} ${((100 * n) / Math.max(rows, 1)).toFixed(2)}% (${n.toLocaleString('en-US')})`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** Say which epoch's weights were kept and why, when it was not simply the last. */
export function logBestEpoch(config: EsmmConfig, result: TrainResult, log?: (line: string) => void): void {
  const es = config.train.early_stopping;
  const valid = result.history[0]?.valid;
  const metric = es === undefined ? undefined : valid === undefined ? es.metric : stoppingMetric(es, valid);
  const epochs = result.history.length;
  if (result.stoppedEarly) {
    log?.(`early stop after epoch ${epochs} of ${config.train.epochs}: valid ${metric ?? 'metric'} did not improve; kept the weights of epoch ${result.bestEpoch}`);
  } else if (result.bestEpoch !== epochs && metric !== undefined) {
    log?.(`kept the weights of epoch ${result.bestEpoch} of ${epochs} (best valid ${metric})`);
  }
}
