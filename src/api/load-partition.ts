/**
 * The data of store worker I of N when the training data are files (`esmm train --store ...
 * --worker I/N`, N > 1): the worker reads only its own share of the training files
 * (distributed/partition-files.ts); worker 0 fits the FeatureSpec out of core with DuckDB
 * aggregates over all files (features/fit-sql.ts) and shares it through the store
 * (distributed/spec-share.ts), so no worker holds rows of another's share and all encode alike.
 * Worker 0 alone reads the validation and test splits (it validates and evaluates).
 *
 * Without a validation file, the hold-out is the streaming trainer's row-by-row rule
 * (data/stream-holdout.ts: a seeded hash of file name and row number, or the latest rows by a
 * time column), which every worker applies to its own rows without seeing the others': the
 * held-out rows are trained on by nobody, and worker 0 reads them from every file to validate.
 * As in streaming training, the FeatureSpec is fitted on all training-file rows, held-out ones included.
 */
import type { EsmmConfig } from '../config/types.js';
import type { EncodedChunk, RawChunk } from '../data/batch.js';
import { concatChunks } from '../data/chunks.js';
import { expandFiles } from '../data/file-glob.js';
import { DEFAULT_HOLDOUT } from '../data/holdout.js';
import { readAll, type ReadOptions, type ReadStats } from '../data/reader.js';
import { planStreamHoldout } from '../data/stream-holdout.js';
import { fitFeaturesSql } from '../features/fit-sql.js';
import { FeatureSpec, type FeatureSpecJSON } from '../features/spec.js';
import { specKey, type SpecExchange } from '../distributed/spec-share.js';
import { guardLeakage } from '../features/leakage-guard.js';
import { UserError } from '../errors.js';
import { describeFiles, describePieces, planPartitions, type PartPiece } from '../distributed/partition-files.js';
import { dataFiles, type LoadedData } from './load-data.js';
import type { PreparedFeatures } from './prepare-features.js';
import { readEvalSplit, readHoldout, readOptionsOf } from './stream-pipeline.js';

export interface WorkerData {
  /** train: this worker's raw rows; stats.train: what reading them kept and skipped. */
  data: LoadedData;
  /** train: this worker's encoded rows; valid and test on worker 0 only. */
  features: PreparedFeatures;
  /** Training rows of all files (held-out rows excluded, exact with a validation file). */
  trainRows: number;
}

/** Whether each of `workers` store workers reads only its own share of the training files (else: all rows, then partitionRows). */
export function readsOwnPartition(config: EsmmConfig, workers: number): boolean {
  return workers > 1 && config.data.synth === undefined && config.data.train !== undefined;
}

/**
 * Worker `worker` of `workers`: its own training rows, the run's FeatureSpec (fitted by worker 0
 * and shared through `exchange`; without one, fitted here) and, on worker 0, the validation and
 * test splits.
 */
export async function loadPartition(config: EsmmConfig, worker: number, workers: number, log: (line: string) => void = () => {}, exchange?: SpecExchange): Promise<WorkerData> {
  const who = `worker ${worker}/${workers}`;
  const files = await dataFiles(config.data, { baseDir: config.baseDir, log, ...(config.source !== undefined ? { source: config.source } : {}) });
  const trainFiles = await expandFiles(files.train);
  const readOpts = readOptionsOf(config);
  let t0 = performance.now();
  let fitted = false;
  const fitNow = async (): Promise<string> => {
    fitted = true;
    const f = await fitFeaturesSql(trainFiles, readOpts, config.features);
    return JSON.stringify({ spec: f.spec.toJSON(), rows: f.rows });
  };
  const { schema, features: featureCfg } = config;
  const { format, skip_invalid, header, columns } = config.data;
  const payload = exchange !== undefined ? await exchange.share(specKey(trainFiles, { schema, featureCfg, format, skip_invalid, header, columns }), fitNow) : await fitNow();
  const shared = JSON.parse(payload) as { spec: FeatureSpecJSON; rows: number };
  const spec = FeatureSpec.fromJSON(shared.spec);
  const fit = { rows: shared.rows };
  const what = `all ${fit.rows.toLocaleString('en-US')} rows of ${trainFiles.length} training file${trainFiles.length > 1 ? 's' : ''}`;
  log(fitted ? `${who}: features fitted with DuckDB on ${what} in ${sec(t0)}${exchange !== undefined ? ' (shared with the other workers through the store)' : ''}` : `${who}: feature spec from worker 0 (fitted on ${what}), waited ${sec(t0)}`);
  const holdout = files.valid === undefined ? await planStreamHoldout(trainFiles, readOpts, config.data.holdout ?? DEFAULT_HOLDOUT, fit.rows, fit.rows) : undefined;
  const trainOpts: ReadOptions = holdout !== undefined ? { ...readOpts, split: { rule: holdout.rule, side: 'train' } } : readOpts;

  const pieces = planPartitions(await describeFiles(trainFiles, config.data.format), workers)[worker]!;
  if (pieces.length === 0) throw new UserError(`${who} has no share of the training data (${fit.rows.toLocaleString('en-US')} rows in ${trainFiles.length} file${trainFiles.length > 1 ? 's' : ''} for ${workers} workers): use fewer workers`, { key: 'data.train' });
  log(`${who}: reading its share of the training data: ${describePieces(pieces)}`);
  t0 = performance.now();
  const parts: RawChunk[] = [];
  let empty: RawChunk | undefined;
  const stats: ReadStats = { rows: 0, kept: 0, skipped: 0, skippedByReason: {}, skippedExamples: [] };
  for (const p of pieces) {
    const r = await readAll(p.file, pieceOptions(trainOpts, p));
    if (r.data.rows > 0) parts.push(r.data);
    else empty ??= r.data;
    stats.rows += r.stats.rows;
    stats.kept += r.stats.kept;
    stats.skipped += r.stats.skipped;
    for (const [k, v] of Object.entries(r.stats.skippedByReason)) stats.skippedByReason[k] = (stats.skippedByReason[k] ?? 0) + v;
    for (const e of r.stats.skippedExamples) if (stats.skippedExamples.length < 5) stats.skippedExamples.push(e);
  }
  const raw = parts.length > 0 ? concatChunks(parts) : empty!;
  log(`${who}: read ${raw.rows.toLocaleString('en-US')} training rows of its partition (${stats.rows.toLocaleString('en-US')} rows scanned, ${fit.rows.toLocaleString('en-US')} in all files) in ${sec(t0)}`);
  if (stats.skipped > 0) log(`  skipped ${stats.skipped.toLocaleString('en-US')} rows of its partition (data.skip_invalid is on)`);
  // The leakage guard judges the worker's own rows (a sample of the data, like any other).
  guardLeakage(config.schema, raw, { log });
  const train: EncodedChunk = spec.transform(raw);
  const data: LoadedData = { train: raw, stats: { train: stats }, files };
  const features: PreparedFeatures = { spec, train, oov: {} };
  if (worker === 0) {
    if (holdout !== undefined) {
      const held = await readHoldout(trainFiles, readOpts, holdout, spec);
      if (held.chunk !== undefined) {
        features.valid = held.chunk;
        features.oov.valid = held.oov;
        data.stats.valid = held.stats;
        files.valid = `${files.train} (held out: ${holdout.description}, fraction ${(config.data.holdout ?? DEFAULT_HOLDOUT).fraction}; ${held.chunk.rows} rows)`;
        log(`no validation file: holding out ${held.chunk.rows.toLocaleString('en-US')} of ${fit.rows.toLocaleString('en-US')} training rows (${holdout.description}; data.holdout), trained on by no worker`);
      }
    }
    for (const split of ['valid', 'test'] as const) {
      const f = files[split];
      if (f === undefined || features[split] !== undefined) continue;
      const kept = await readEvalSplit(split, f, readOpts, spec, data, features);
      log(`read ${split} ${f}: ${kept.toLocaleString('en-US')} rows`);
    }
  }
  return { data, features, trainRows: fit.rows - (holdout?.heldRows ?? 0) };
}

function pieceOptions(opts: ReadOptions, p: PartPiece): ReadOptions {
  if (p.kind === 'range') return { ...opts, rowRange: { start: p.start, end: p.end } };
  if (p.kind === 'modulo') return { ...opts, rowModulo: { of: p.of, is: p.is } };
  return opts;
}

function sec(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}
