/**
 * Training data given as a glob (`data.train: 'days/*.parquet'`, `'parts/*.csv'`): the matching
 * files, listed by DuckDB's glob() and sorted by path so the same folder always gives the same order.
 */
import { UserError } from '../errors.js';
import { concatChunks } from './chunks.js';
import { connectDuckDB, sqlString } from './duckdb.js';
import { readAll, type ReadOptions, type ReadStats } from './reader.js';
import type { RawChunk } from './batch.js';

/** True when `path` holds glob characters (* ? [). */
export function isGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

/** The files `pattern` names: itself when it is no glob, else the sorted matches (none is an error). */
export async function expandFiles(pattern: string, key = 'data.train'): Promise<string[]> {
  if (!isGlob(pattern)) return [pattern];
  const con = await connectDuckDB();
  try {
    const rows = await (await con.run(`SELECT file FROM glob(${sqlString(pattern)}) ORDER BY file`)).getRows();
    const files = rows.map((r) => String(r[0]));
    if (files.length === 0) throw new UserError('no file matches this pattern', { file: pattern, key });
    return files;
  } finally {
    con.closeSync();
  }
}

/** Every row of every file `pattern` names, in file order, as one chunk (the in-memory path). */
export async function readAllFiles(pattern: string, opts: ReadOptions): Promise<{ data: RawChunk; stats: ReadStats }> {
  const files = await expandFiles(pattern);
  if (files.length === 1) return readAll(files[0]!, opts);
  const parts: RawChunk[] = [];
  const stats: ReadStats = { rows: 0, kept: 0, skipped: 0, skippedByReason: {}, skippedExamples: [] };
  for (const file of files) {
    const r = await readAll(file, opts);
    if (r.data.rows > 0) parts.push(r.data);
    stats.rows += r.stats.rows;
    stats.kept += r.stats.kept;
    stats.skipped += r.stats.skipped;
    for (const [k, v] of Object.entries(r.stats.skippedByReason)) stats.skippedByReason[k] = (stats.skippedByReason[k] ?? 0) + v;
    for (const e of r.stats.skippedExamples) if (stats.skippedExamples.length < 5) stats.skippedExamples.push(e);
    if (parts.length === 0 && file === files[files.length - 1]) return { data: r.data, stats };
  }
  return { data: concatChunks(parts), stats };
}
