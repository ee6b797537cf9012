/**
 * Writes a table of predictions (and passed-through columns) as CSV, or as Parquet when the
 * output name ends in .parquet (DuckDB converts a temporary CSV). Written under a temporary
 * name and renamed, so an interrupted run never leaves a half-written file under the real name.
 */
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ensureDir, fsyncDir, removeStaleTemps, writeFileAtomic, writeFileDurable } from '../util/atomic.js';
import { connectDuckDB, sqlString } from './duckdb.js';

export interface OutputColumn {
  name: string;
  /** Numbers (written with 7 significant digits) or text. */
  values: Float32Array | Float64Array | readonly string[];
}

function csvCell(v: number | string): string {
  if (typeof v === 'number') return v.toPrecision(7);
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function csvText(columns: readonly OutputColumn[], rows: number): string {
  const lines: string[] = [columns.map((c) => csvCell(c.name)).join(',')];
  for (let i = 0; i < rows; i++) lines.push(columns.map((c) => csvCell(c.values[i]!)).join(','));
  return `${lines.join('\n')}\n`;
}

export async function writePredictions(out: string, columns: readonly OutputColumn[], rows: number): Promise<void> {
  // CSV: temp file, fsync, rename (and temp files of killed runs in that folder are removed).
  if (!out.toLowerCase().endsWith('.parquet')) return writeFileAtomic(out, csvText(columns, rows));
  const dir = dirname(out);
  ensureDir(dir);
  removeStaleTemps(dir);
  // Both temp names follow the `.NAME.PID.tmp` pattern that removeStaleTemps recognises.
  const tmp = join(dir, `.${basename(out)}.${process.pid}.tmp`);
  const csv = join(dir, `.${basename(out)}.csv.${process.pid}.tmp`);
  writeFileDurable(csv, csvText(columns, rows));
  const types = columns.map((c) => `${sqlString(c.name)}: '${ArrayBuffer.isView(c.values) ? 'DOUBLE' : 'VARCHAR'}'`);
  const con = await connectDuckDB();
  try {
    const read = `read_csv(${sqlString(csv)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${types.join(', ')}})`;
    await con.run(`COPY (SELECT * FROM ${read}) TO ${sqlString(tmp)} (FORMAT parquet)`);
    renameSync(tmp, out);
    fsyncDir(dir);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    con.closeSync();
    rmSync(csv, { force: true });
  }
}
