/**
 * Ali-CCP raw files (sample_skeleton_*.csv + common_features_*.csv) -> one Parquet file with
 * columns click, buy and one text column per field (see ali-ccp-fields.ts for the layout:
 * single-valued fields hold the feature id, multi-valued ones `id:value|id:value`).
 *
 * DuckDB does the whole job in SQL: the common side becomes an in-database table (spilled to
 * tempDir past memoryLimit), the skeleton side streams through a lookup join into
 * COPY ... TO parquet, so memory does not grow with the skeleton. The output is written to a
 * temporary name and renamed at the end, so a failure never leaves a partial file behind.
 *
 * Row order: by default the output keeps the skeleton's line order, which makes it reproducible.
 * DuckDB's parallel hash join does not keep it, so the streaming stage then runs on one thread
 * (the common stage stays parallel). The order also needs the common table to fit in memoryLimit:
 * a join that spills may reorder rows. keepOrder: false uses every core, and the order of the
 * rows then varies from run to run.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { UserError } from '../errors.js';
import { findFirstMalformedLine, type AliCcpFileKind } from './ali-ccp-line-check.js';
import { copyJoinedSql, createCommonTableSql, duplicateCommonIndexSql } from './ali-ccp-sql.js';
import { estimateLineCount, registerRowCounter, type RowCounter } from './row-counter.js';
import { sqlString } from './sql-text.js';

export interface ConvertProgress {
  /** 'common': reading the common features; 'skeleton': streaming samples into the output. */
  stage: AliCcpFileKind;
  /** Lines of the stage's file processed so far. */
  rows: number;
  /** Lines in the stage's file, estimated from its size and the length of its first lines. */
  estimatedRows: number;
  /** rows / estimatedRows as a percentage, capped at 99 until the stage ends (then 100). */
  percentage: number;
}

export interface ConvertAliCcpOptions {
  /** sample_skeleton_*.csv */
  skeleton: string;
  /** common_features_*.csv */
  common: string;
  /** Output Parquet file. */
  out: string;
  /** Called about every progressIntervalMs while a stage runs. */
  onProgress?: (progress: ConvertProgress) => void;
  progressIntervalMs?: number;
  /** DuckDB memory_limit (default '2GB'); past it, DuckDB spills to tempDir. */
  memoryLimit?: string;
  /** Where DuckDB spills (default: a folder next to the output, removed afterwards). */
  tempDir?: string;
  /** DuckDB worker threads (default: DuckDB's choice, one per core). */
  threads?: number;
  /** Keep the skeleton's line order (default true; see the note at the top of this file). */
  keepOrder?: boolean;
}

export interface ConvertAliCcpResult {
  out: string;
  /** Samples written (one per skeleton line). */
  rows: number;
}

const COMMON_TABLE = 'ali_ccp_common';
const ROW_COUNTER = 'esmm_count_row';

export async function convertAliCcp(options: ConvertAliCcpOptions): Promise<ConvertAliCcpResult> {
  const { skeleton, common, out } = options;
  await requireFile(skeleton);
  await requireFile(common);
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  const partial = `${out}.${process.pid}.tmp`;
  const ownSpillDir = options.tempDir === undefined;
  const spillDir = options.tempDir ?? `${out}.${process.pid}.spill`;

  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await configure(connection, options, spillDir);
    const counter = registerRowCounter(connection, ROW_COUNTER);
    await runStage(connection, counter, 'common', common, createCommonTableSql(common, COMMON_TABLE, counter.name), options);
    await refuseDuplicateIndex(connection, common);
    if (options.keepOrder ?? true) await connection.run('SET threads = 1');
    const copy = copyJoinedSql(skeleton, COMMON_TABLE, partial, counter.name);
    const written = await runStage(connection, counter, 'skeleton', skeleton, copy, options);
    await rename(partial, out);
    return { out, rows: written };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  } finally {
    connection.closeSync();
    instance.closeSync();
    if (ownSpillDir) await rm(spillDir, { recursive: true, force: true });
  }
}

async function configure(connection: DuckDBConnection, options: ConvertAliCcpOptions, spillDir: string): Promise<void> {
  const settings = [`SET temp_directory = ${sqlString(spillDir)}`];
  if (options.memoryLimit !== undefined) settings.push(`SET memory_limit = ${sqlString(options.memoryLimit)}`);
  if (options.threads !== undefined) settings.push(`SET threads = ${Math.max(1, Math.floor(options.threads))}`);
  for (const sql of settings) await connection.run(sql);
}

/** Runs one statement, reporting progress meanwhile; returns the rows it changed or wrote. */
async function runStage(
  connection: DuckDBConnection,
  counter: RowCounter,
  stage: AliCcpFileKind,
  file: string,
  sql: string,
  options: ConvertAliCcpOptions,
): Promise<number> {
  const { onProgress } = options;
  counter.reset();
  const estimatedRows = onProgress === undefined ? 0 : await estimateLineCount(file);
  const report = (done: boolean): void => {
    const rows = counter.count();
    const percentage = done ? 100 : Math.min(99, (100 * rows) / Math.max(1, estimatedRows));
    onProgress?.({ stage, rows, estimatedRows, percentage });
  };
  const timer = onProgress === undefined ? undefined : setInterval(() => report(false), options.progressIntervalMs ?? 2000);
  try {
    const result = await connection.run(sql);
    report(true);
    return Number(result.rowsChanged);
  } catch (error) {
    throw await explainFailure(stage, file, error);
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }
}

/**
 * DuckDB can say that a row was malformed but not which line it was on: scan the file in
 * TypeScript (only on this failure path) to name the first bad line.
 */
async function explainFailure(kind: AliCcpFileKind, file: string, error: unknown): Promise<unknown> {
  const bad = await findFirstMalformedLine(kind, file).catch(() => null);
  if (bad === null) return error;
  return new UserError(`malformed Ali-CCP ${kind} line ${bad.line}: ${bad.reason}`, { file, row: bad.line });
}

async function refuseDuplicateIndex(connection: DuckDBConnection, commonFile: string): Promise<void> {
  const rows = (await connection.runAndReadAll(duplicateCommonIndexSql(COMMON_TABLE))).getRows();
  if (rows.length > 0) {
    const index = String(rows[0]![0]);
    throw new UserError('common_feature_index occurs more than once (joining would duplicate samples)', {
      file: commonFile,
      key: index,
    });
  }
}

async function requireFile(file: string): Promise<void> {
  const info = await stat(file).catch(() => null);
  if (info === null || !info.isFile()) throw new UserError('no such file', { file });
}
