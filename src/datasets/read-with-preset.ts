/**
 * Reads a file for a trained model the way its training data was read: through the model's
 * dataset preset when it was trained with one (`--preset`, `schema: { preset }`), else with its
 * schema and its header-less column names. Scoring never needs or checks labels.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EsmmConfig } from '../config/types.js';
import type { RawChunk } from '../data/batch.js';
import { connectDuckDB, sqlIdent, sqlString, translateDuckDBError } from '../data/duckdb.js';
import { readCsvHeader } from '../data/csv-header.js';
import { defaultDelimiter, detectFormat, type FileFormat } from '../data/format.js';
import { headerlessColumns, readAll, type ReadOptions, type ReadStats } from '../data/reader.js';
import { sourceSql } from '../data/sql.js';
import { UserError } from '../errors.js';
import { materializePreset } from './materialize-preset.js';
import { getPreset } from './presets.js';
import { runTempDir } from '../util/run-temp.js';

/** The settings of a model that say how to read its files. */
export type ModelConfig = Pick<EsmmConfig, 'schema' | 'data' | 'source' | 'preset'>;

export interface ModelReadOptions {
  /** predict: labels are not read at all; eval: labels are read and checked. */
  purpose: 'predict' | 'eval';
  /** eval: skip (and count) rows with a bad label instead of failing. */
  skipInvalid?: boolean;
}

/** The preset a model's files are read with, if any (older models record it only in `source`). */
export function modelPreset(config: ModelConfig): string | undefined {
  if (config.preset !== undefined) return config.preset;
  return config.source.startsWith('preset:') ? config.source.slice('preset:'.length) : undefined;
}

export async function readForModel(config: ModelConfig, file: string, opts: ModelReadOptions): Promise<{ data: RawChunk; stats: ReadStats }> {
  const predict = opts.purpose === 'predict';
  const preset = modelPreset(config);
  const readOpts: ReadOptions = {
    schema: config.schema,
    ...(predict ? { labelsOptional: true, ignoreLabels: true } : {}),
    ...(opts.skipInvalid === true && !predict ? { skipInvalid: true } : {}),
  };
  if (preset !== undefined) {
    const labels = predict ? 'none' : opts.skipInvalid === true ? 'lenient' : 'checked';
    const dir = runTempDir('preset'); // removed at exit, or by the next run if this one is killed
    try {
      return await readAll(await materializePreset(preset, file, dir, labels), readOpts);
    } finally {
      rmSync(dir, { recursive: true, force: true }); // our own temporary copy, read in full above
    }
  }
  return readAll(file, { ...readOpts, ...layoutOptions(config, file) });
}

/** The training data's layout settings that apply to this file (format only when its extension says nothing). */
function layoutOptions(config: ModelConfig, file: string): Partial<ReadOptions> {
  const out: Partial<ReadOptions> = {};
  if (config.data.format !== undefined && knownFormat(file) === undefined) out.format = config.data.format;
  if (config.data.header === false) {
    out.header = false;
    if (config.data.columns !== undefined) out.columns = config.data.columns;
  }
  return out;
}

function knownFormat(file: string): FileFormat | undefined {
  try {
    return detectFormat(file);
  } catch {
    return undefined;
  }
}

/**
 * Columns of `file` passed through to the predictions (`predict --keep`), as text, in row order.
 * For a preset model the names are the file's own column names (before the preset renames them).
 */
export async function readKeptColumns(config: ModelConfig, file: string, names: readonly string[]): Promise<string[][]> {
  const preset = modelPreset(config);
  let source: string;
  let available: string[];
  let format: FileFormat | undefined;
  const con = await connectDuckDB();
  try {
    if (preset !== undefined) {
      source = getPreset(preset).source(file);
      available = (await (await con.run(`DESCRIBE SELECT * FROM ${source}`)).getRows()).map((r) => String(r[0]));
    } else {
      const layout = layoutOptions(config, file);
      format = detectFormat(file, layout.format);
      const delimiter = defaultDelimiter(format);
      if (format === 'csv' || format === 'tsv') {
        const columns = layout.header === false ? headerlessColumns(file, delimiter, { schema: config.schema, ignoreLabels: true, ...layout }) : readCsvHeader(file, delimiter).map((name) => ({ name, kind: 'text' as const }));
        source = sourceSql(file, format, delimiter, columns, layout.header !== false);
        available = columns.map((c) => c.name);
      } else {
        source = format === 'parquet' ? `read_parquet(${sqlString(file)})` : `read_json(${sqlString(file)}, format='newline_delimited', records=true)`;
        available = (await (await con.run(`DESCRIBE SELECT * FROM ${source}`)).getRows()).map((r) => String(r[0]));
      }
    }
    const picked = names.map((n) => {
      const found = available.find((a) => a === n) ?? available.find((a) => a.trim() === n);
      if (found === undefined) throw new UserError(`--keep: no column '${n}' in the file (it has: ${available.slice(0, 20).join(', ')}${available.length > 20 ? ', ...' : ''})`, { file });
      return found;
    });
    const sql = `SELECT ${picked.map((p) => `coalesce(CAST(${sqlIdent(p)} AS VARCHAR), '')`).join(', ')} FROM ${source}`;
    const rows = await (await con.run(sql)).getRows();
    return picked.map((_, j) => rows.map((r) => String(r[j])));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw translateDuckDBError(e, file, (line) => line);
  } finally {
    con.closeSync();
  }
}
