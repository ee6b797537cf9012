/**
 * trainAndEvaluate for training data larger than memory (train.streaming, or automatically when
 * train.memory_budget is set and the data would not fit in it): the FeatureSpec is fitted with
 * DuckDB aggregates (features/fit-sql.ts), the training rows are streamed through a bounded shuffle
 * window (data/train-stream.ts, train/streaming-trainer.ts). The validation and test splits are
 * read into memory as usual: they are expected to be small (a day of data, not a month).
 * Without a validation file, data.holdout carves one out of the stream (data/stream-holdout.ts):
 * those rows are never trained on, and at most half of train.memory_budget of them is kept to
 * validate on. The FeatureSpec is fitted on all training-file rows, held-out ones included (their
 * values only; their labels are never trained on).
 *
 * In the returned RunResult, `data.train` and `features.train` hold only the first
 * train.batch_size training rows (the rest was streamed and is not kept).
 */
import { UserError } from '../errors.js';
import { statSync } from 'node:fs';
import type { EsmmConfig } from '../config/types.js';
import type { EncodedChunk } from '../data/batch.js';
import { connectDuckDB, sqlString } from '../data/duckdb.js';
import { limitDuckDB } from '../data/duckdb-limits.js';
import { describeCompute, describeOptimizers } from './describe-training.js';
import { expandFiles, readAllFiles } from '../data/file-glob.js';
import { detectFormat } from '../data/format.js';
import { DEFAULT_STREAM_BUDGET, encodedBytesPerRow, planBuffer, rawBytesPerRow } from '../data/memory-budget.js';
import { readChunks, type ReadOptions, type ReadStats } from '../data/reader.js';
import { DEFAULT_HOLDOUT } from '../data/holdout.js';
import { planStreamHoldout, type HoldoutPlan } from '../data/stream-holdout.js';
import { concatEncoded } from '../features/encoded-rows.js';
import type { FeatureSpec } from '../features/spec.js';
import { newTimings, TrainStream } from '../data/train-stream.js';
import { evaluatePredictions } from '../eval/evaluate.js';
import { fitFeaturesSql } from '../features/fit-sql.js';
import { saveModel } from '../models/persist.js';
import { computeCurves } from '../report/curves.js';
import { metricsJson } from '../report/table.js';
import { trainFunnelStreaming, type StreamTrainOptions } from '../train/streaming-trainer.js';
import { dataFiles, type LoadedData } from './load-data.js';
import type { RunOptions, RunResult } from './pipeline.js';
import type { PreparedFeatures } from './prepare-features.js';

/** The reader options of a config's data block (the same as loadData's). */
export function readOptionsOf(config: EsmmConfig): ReadOptions {
  const d = config.data;
  return {
    schema: config.schema,
    ...(d.format !== undefined ? { format: d.format } : {}),
    ...(d.skip_invalid !== undefined ? { skipInvalid: d.skip_invalid } : {}),
    ...(d.header !== undefined ? { header: d.header } : {}),
    ...(d.columns !== undefined ? { columns: d.columns } : {}),
  };
}

/**
 * Whether to stream: train.streaming when set; otherwise only when train.memory_budget is set and
 * the training rows would take more than that in memory (Parquet: row count from the metadata
 * times a per-row estimate; text files: three times their size on disk). `shares`: store workers
 * that each hold only their share of the files (api/load-partition.ts) need 1/shares of it.
 */
export async function shouldStream(config: EsmmConfig, log?: (line: string) => void, shares = 1): Promise<boolean> {
  const tc = config.train;
  if (tc.streaming !== undefined) return tc.streaming;
  if (tc.memory_budget === undefined || config.data.synth !== undefined || config.data.train === undefined) return false;
  const files = await expandFiles((await dataFiles(config.data, { baseDir: config.baseDir })).train);
  let estimate = 0;
  const con = await connectDuckDB();
  try {
    for (const f of files) {
      if (detectFormat(f, config.data.format) === 'parquet') {
        const rows = Number((await (await con.run(`SELECT count(*)::DOUBLE FROM read_parquet(${sqlString(f)})`)).getRows())[0]![0]);
        estimate += rows * rawBytesPerRow(config.schema, 4 * (config.schema.multi_valued ?? []).length);
      } else {
        estimate += 3 * (statSync(f, { throwIfNoEntry: false })?.size ?? 0);
      }
    }
  } finally {
    con.closeSync();
  }
  estimate /= shares;
  const stream = estimate > tc.memory_budget;
  if (stream) log?.(`${shares > 1 ? "a worker's share of " : ''}the training data needs about ${mb(estimate)} in memory, over train.memory_budget ${mb(tc.memory_budget)}: streaming it`);
  return stream;
}

/** Reads a validation or test file into memory and encodes it with `spec` (they are expected to be small). Returns its kept row count. */
export async function readEvalSplit(split: 'valid' | 'test', file: string, readOpts: ReadOptions, spec: FeatureSpec, loaded: LoadedData, features: Pick<PreparedFeatures, 'valid' | 'test' | 'oov'>): Promise<number> {
  const r = await readAllFiles(file, readOpts);
  loaded[split] = r.data;
  loaded.stats[split] = r.stats;
  const stats = { oov: {} as Record<string, number> };
  features[split] = spec.transform(r.data, stats);
  features.oov[split] = stats.oov;
  return r.stats.kept;
}

/** The held-out rows kept for validation, encoded chunk by chunk (the raw rows are never all held). */
export async function readHoldout(files: string[], readOpts: ReadOptions, holdout: HoldoutPlan, spec: FeatureSpec): Promise<{ chunk: EncodedChunk | undefined; stats: ReadStats; oov: Record<string, number> }> {
  const parts: EncodedChunk[] = [];
  const oov: Record<string, number> = {};
  const stats: ReadStats = { rows: 0, kept: 0, skipped: 0, skippedByReason: {}, skippedExamples: [] };
  for (const file of files) {
    const chunks = readChunks(file, { ...readOpts, split: { rule: holdout.rule, side: 'holdout' } });
    for await (const raw of chunks) parts.push(spec.transform(raw, { oov }));
    stats.rows += chunks.stats.rows;
    stats.kept += chunks.stats.kept;
    stats.skipped += chunks.stats.skipped;
    for (const [k, v] of Object.entries(chunks.stats.skippedByReason)) stats.skippedByReason[k] = (stats.skippedByReason[k] ?? 0) + v;
  }
  return { chunk: parts.length > 0 ? concatEncoded(parts) : undefined, stats, oov };
}

function mb(bytes: number): string {
  return bytes < 1024 ** 2 ? `${Math.round(bytes / 1024)} KB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}

export async function trainAndEvaluateStreaming(config: EsmmConfig, opts: RunOptions & Pick<StreamTrainOptions, 'timings' | 'onWindow'> = {}): Promise<RunResult> {
  // DuckDB gets the same budget as the rows held in JavaScript (at least 256 MB), spilling beyond it.
  const restore = await limitDuckDB(Math.max(256 * 1024 ** 2, config.train.memory_budget ?? DEFAULT_STREAM_BUDGET));
  try {
    return await streamRun(config, opts);
  } finally {
    await restore();
  }
}

async function streamRun(config: EsmmConfig, opts: RunOptions & Pick<StreamTrainOptions, 'timings' | 'onWindow'>): Promise<RunResult> {
  if (config.train.level_refit === true) {
    throw new UserError('the level refit scores the training rows after every epoch, and a streamed run does not hold them: drop train.level_refit, or train in memory (train.streaming: false, a larger train.memory_budget)', { key: 'train.level_refit' });
  }
  const log = opts.log;
  const files = await dataFiles(config.data, { baseDir: config.baseDir, ...(log !== undefined ? { log } : {}) });
  const trainFiles = await expandFiles(files.train);
  const readOpts = readOptionsOf(config);
  log?.(`fitting features on ${trainFiles.length} file${trainFiles.length > 1 ? 's' : ''} with DuckDB (${files.train})`);
  const fit = await fitFeaturesSql(trainFiles, readOpts, config.features);
  const spec = fit.spec;
  const tc = config.train;
  const budget = tc.memory_budget ?? DEFAULT_STREAM_BUDGET;
  const weighted = (config.schema.multi_valued ?? []).some((m) => m.weight_separator !== undefined);
  const plan = planBuffer(budget, rawBytesPerRow(config.schema, fit.multiItemsPerRow), encodedBytesPerRow(config.schema, spec.categoricalFields.length, spec.numericFields.length, fit.multiItemsPerRow, weighted), tc.batch_size);
  const encodedRow = encodedBytesPerRow(config.schema, spec.categoricalFields.length, spec.numericFields.length, fit.multiItemsPerRow, weighted);
  // No validation file: hold rows out of the stream (never trained on) to validate on.
  const holdout =
    files.valid === undefined ? await planStreamHoldout(trainFiles, readOpts, config.data.holdout ?? DEFAULT_HOLDOUT, fit.rows, Math.max(tc.batch_size, budget / 2 / encodedRow)) : undefined;
  const trainOpts: ReadOptions = holdout !== undefined ? { ...readOpts, split: { rule: holdout.rule, side: 'train' } } : readOpts;
  const stream = await TrainStream.open(trainFiles, trainOpts, spec, plan.blockRows, plan.windowRows);
  if (holdout !== undefined) stream.keptShare = 1 - holdout.heldRows / fit.rows;
  log?.(`streaming ${stream.totalRows} rows: blocks of ${plan.blockRows}, shuffle window ${plan.windowRows} rows (about ${mb(plan.peakBytes)} of ${mb(budget)})`);
  log?.(describeOptimizers(config));
  log?.(describeCompute(config));
  const sample = await stream.sample(tc.batch_size);

  const loaded: LoadedData = { train: sample.raw, stats: { train: { rows: fit.rows, kept: fit.rows - (holdout?.heldRows ?? 0), skipped: 0, skippedByReason: {}, skippedExamples: [] } }, files };
  const features: PreparedFeatures = { spec, train: sample.encoded, oov: {} };
  if (holdout !== undefined) {
    const capped = holdout.validRows < holdout.heldRows;
    log?.(
      `no validation file: holding out ${holdout.rule.kind === 'hash' ? 'about ' : ''}${holdout.heldRows} of ${fit.rows} training rows (${holdout.description}; data.holdout), never trained on; ` +
        (capped ? `validating on ${holdout.validRows} of them (capped at half of train.memory_budget, ${mb(budget / 2)})` : 'validating on all of them'),
    );
    const held = await readHoldout(trainFiles, readOpts, holdout, spec);
    if (held.chunk !== undefined) {
      features.valid = held.chunk;
      features.oov.valid = held.oov;
      loaded.stats.valid = held.stats;
    }
  }
  for (const split of ['valid', 'test'] as const) {
    const f = files[split];
    if (f === undefined) continue;
    log?.(`reading ${f}`);
    await readEvalSplit(split, f, readOpts, spec, loaded, features);
  }
  if (holdout !== undefined && features.valid !== undefined) {
    files.valid = `${files.train} (held out: ${holdout.description}, fraction ${(config.data.holdout ?? DEFAULT_HOLDOUT).fraction}; ${features.valid.rows} rows validated on)`;
  }
  const fingerprint = JSON.stringify({ files, trainFiles, fileRows: stream.fileRows, rows: [features.valid?.rows, features.test?.rows] });
  const result = await trainFunnelStreaming(config, spec, stream, features.valid, {
    template: sample.encoded,
    timings: opts.timings ?? newTimings(),
    ...(opts.onWindow !== undefined ? { onWindow: opts.onWindow } : {}),
    ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
    ...(opts.onEpoch !== undefined ? { onEpoch: opts.onEpoch } : {}),
    ...(opts.outDir !== undefined ? { checkpointDir: opts.outDir, dataFingerprint: fingerprint } : {}),
    ...(opts.resume === true ? { resume: true } : {}),
    ...(opts.shouldStop !== undefined ? { shouldStop: opts.shouldStop } : {}),
  });
  if (result.interrupted) return { result, data: loaded, features, metrics: {}, evaluatedOn: 'train', summary: { interrupted: true } };
  // Without a held-out split the metrics are on the training sample (the first batch of rows).
  const evaluatedOn = features.test !== undefined ? 'test' : features.valid !== undefined ? 'valid' : 'train';
  const evalSplit: EncodedChunk = features[evaluatedOn]!;
  const predictions = await result.model.predictEncoded(evalSplit);
  const metrics = evaluatePredictions(evalSplit, predictions);
  const summary = {
    model: config.model.name,
    evaluated_on: evaluatedOn,
    metrics,
    best_epoch: result.bestEpoch,
    resumed_from_step: result.resumedFromStep,
    stopped_early: result.stoppedEarly,
    streamed: {
      rows: stream.totalRows,
      block_rows: plan.blockRows,
      window_rows: plan.windowRows,
      memory_budget: budget,
      ...(holdout !== undefined ? { held_out: { rule: holdout.description, rows: holdout.heldRows, validated_on: features.valid?.rows ?? 0 } } : {}),
    },
    skipped_rows: { valid: loaded.stats.valid?.skippedByReason, test: loaded.stats.test?.skippedByReason },
    oov: features.oov,
    history: result.history,
  };
  if (opts.outDir !== undefined) {
    await saveModel(result.model, opts.outDir, {
      'metrics.json': metricsJson(summary),
      'history.json': metricsJson({ history: result.history, step_loss: result.stepLoss }),
      'curves.json': metricsJson(computeCurves(evalSplit, predictions, config.schema, evaluatedOn)),
    });
  }
  return { result, data: loaded, features, metrics, evaluatedOn, summary };
}
