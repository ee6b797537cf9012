/**
 * Applies a preset to an input file: checks its columns and rows, and writes the preset's plain
 * columns to a Parquet file (COPY (SELECT projection FROM source) TO ...), which the generic
 * reader then reads with the preset's Schema.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { looksLikeData } from '../data/csv-header.js';
import type { Schema } from '../data/schema.js';
import { UserError, isUserError } from '../errors.js';
import { getPreset } from './presets.js';
import type { DatasetPreset, LabelMode, RowCheck, SourceColumn } from './presets/types.js';
import { sqlString } from './sql-text.js';

const BAD_ROW_MARKER = 'esmm: row breaks a preset rule';

/**
 * The file the generic reader should read for `inputFile` under preset `name`: a Parquet file in
 * tmpDir with the preset's columns, or inputFile itself when the preset needs no projection.
 * `labels` (default 'checked') says whether label columns are required and how bad ones are
 * treated; see LabelMode.
 */
export async function materializePreset(name: string, inputFile: string, tmpDir: string, labels: LabelMode = 'checked'): Promise<string> {
  const preset = getPreset(name);
  return withConnection(async (connection) => {
    const columns = await describeSource(connection, preset, inputFile, labels);
    if (preset.projection === undefined) return inputFile;
    await mkdir(tmpDir, { recursive: true });
    const out = path.join(tmpDir, `${path.basename(inputFile)}.${preset.name}.parquet`);
    const partial = `${out}.${process.pid}.tmp`;
    const checks = preset.rowChecks?.(columns, labels) ?? [];
    const where = checks.length === 0 ? '' : ` WHERE CASE WHEN ${anyBadSql(checks)} THEN error(${sqlString(BAD_ROW_MARKER)}) ELSE true END`;
    const query = `SELECT ${withFileContext(() => preset.projection!(columns, inputFile, labels), inputFile)} FROM ${preset.source(inputFile)}${where}`;
    try {
      await connection.run(`COPY (${query}) TO ${sqlString(partial)} (FORMAT parquet)`);
      await rename(partial, out);
      return out;
    } catch (error) {
      await rm(partial, { force: true });
      if (error instanceof Error && error.message.includes(BAD_ROW_MARKER)) {
        throw await locateBadRow(connection, preset, inputFile, checks);
      }
      throw error;
    }
  });
}

/** The Schema of a materialised file under preset `name`. */
export async function presetSchema(name: string, materializedFile: string): Promise<Schema> {
  const preset = getPreset(name);
  return withConnection(async (connection) => {
    const source = `read_parquet(${sqlString(materializedFile)})`;
    const columns = await describe(connection, source, materializedFile);
    await connection.run(`CREATE VIEW preset_data AS SELECT * FROM ${source}`);
    return preset.schema(columns, async (sql) => (await connection.runAndReadAll(sql)).getRows());
  });
}

/** materializePreset, then presetSchema on its result. */
export async function preparePreset(name: string, inputFile: string, tmpDir: string, labels: LabelMode = 'checked'): Promise<{ file: string; schema: Schema }> {
  const file = await materializePreset(name, inputFile, tmpDir, labels);
  return { file, schema: await presetSchema(name, file) };
}

async function withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function describeSource(connection: DuckDBConnection, preset: DatasetPreset, inputFile: string, labels: LabelMode): Promise<SourceColumn[]> {
  const info = await stat(inputFile).catch(() => null);
  if (info === null || !info.isFile()) throw new UserError('no such file', { file: inputFile });
  withFileContext(() => preset.checkFile?.(inputFile), inputFile);
  const source = withFileContext(() => preset.source(inputFile), inputFile);
  const columns = await describe(connection, source, inputFile);
  const names = new Set(columns.map((c) => c.name.trim()));
  const optional = new Set(labels === 'none' ? (preset.labelColumns ?? []) : []);
  const missing = (preset.requiredColumns ?? []).filter((c) => !names.has(c) && !optional.has(c));
  if (missing.length > 0) {
    // A header-less file read with a header has data values as column names (DuckDB adds _1, _2
    // to repeated ones): say so when none of the preset's columns is there.
    const noneThere = (preset.requiredColumns ?? []).every((c) => !names.has(c));
    const hint = noneThere && looksLikeData(columns.map((c) => c.name.trim().replace(/_\d+$/, ''))) ? `; the first row looks like data, not a header: the '${preset.name}' preset reads files with a header row` : '';
    throw new UserError(`missing column(s) for preset '${preset.name}': ${missing.slice(0, 8).map((m) => `'${m}'`).join(', ')}${missing.length > 8 ? `, ... (${missing.length} in all)` : ''}${hint}`, { file: inputFile });
  }
  return columns;
}

async function describe(connection: DuckDBConnection, source: string, file: string): Promise<SourceColumn[]> {
  try {
    const rows = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjectsJS();
    return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  } catch (error) {
    throw new UserError(`cannot read the file: ${firstLine(error)}`, { file });
  }
}

function anyBadSql(checks: readonly RowCheck[]): string {
  return checks.map((c) => `(${c.sql})`).join(' OR ');
}

/**
 * The first row breaking a rule, found on the failure path only: numbering rows needs a window
 * over the whole file, which the happy path avoids.
 */
async function locateBadRow(connection: DuckDBConnection, preset: DatasetPreset, inputFile: string, checks: readonly RowCheck[]): Promise<UserError> {
  const which = `CASE ${checks.map((c, i) => `WHEN ${c.sql} THEN ${i}`).join(' ')} END`;
  const sql =
    `SELECT row, rule FROM (SELECT row_number() OVER () AS row, ${which} AS rule FROM ${preset.source(inputFile)}) ` +
    `WHERE rule IS NOT NULL ORDER BY row LIMIT 1`;
  const rows = (await connection.runAndReadAll(sql)).getRows();
  if (rows.length === 0) return new UserError(`a row breaks a rule of preset '${preset.name}'`, { file: inputFile });
  const [row, rule] = rows[0]!;
  return new UserError(checks[Number(rule)]!.message, { file: inputFile, row: Number(row) });
}

/** Adds the file to a UserError thrown without one (presets know columns, not files). */
function withFileContext<T>(build: () => T, file: string): T {
  try {
    return build();
  } catch (error) {
    // Only a bare error (no location yet) is rebuilt: its message carries no location prefix.
    if (isUserError(error) && Object.keys(error.location).length === 0) {
      throw new UserError(error.message, { ...error.location, file });
    }
    throw error;
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
