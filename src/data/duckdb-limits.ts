/**
 * While streaming, DuckDB's own memory is bounded too: its default memory_limit is 80% of the
 * machine's RAM, which an aggregate over millions of distinct ids would happily use. The limit is
 * set for the duration of a streamed run and reset afterwards (it is a setting of the
 * process-wide instance).
 *
 * Beyond the limit DuckDB spills to its temp_directory, by default `.tmp` in the working folder,
 * which is not ours to write in. So the first streamed run points it at a fresh folder under the
 * system temp dir, and that folder stays for the life of the process: DuckDB refuses to switch its
 * temp directory once it has spilled there ("Cannot switch temporary directory after the current
 * one has been used"), which made the end of a 50M-row run fail after the model was written when
 * this code still put the old directory back. The folder is removed when the process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDuckDB, sqlString } from './duckdb.js';

/** This process's spill folder, once a streamed run has made it. */
let spillFolder: string | undefined;

/** The folder DuckDB spills to in this process when esmm chose it (for tests and logs). */
export function duckdbSpillFolder(): string | undefined {
  return spillFolder;
}

/** Limit DuckDB to `bytes` (spilling to this process's temp folder); returns the function that resets the limit. */
export async function limitDuckDB(bytes: number): Promise<() => Promise<void>> {
  const con = await connectDuckDB();
  try {
    await con.run(`SET memory_limit = ${sqlString(`${Math.max(64, Math.round(bytes / 1024 ** 2))}MiB`)}`);
    if (spillFolder === undefined) {
      const folder = mkdtempSync(join(tmpdir(), 'esmm-duckdb-'));
      try {
        await con.run(`SET temp_directory = ${sqlString(folder)}`);
        spillFolder = folder;
        process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
      } catch {
        // This instance has already spilled to its current directory (someone else's setting); it keeps it.
        rmSync(folder, { recursive: true, force: true });
      }
    }
    return async () => {
      const c = await connectDuckDB();
      try {
        // Only esmm uses this instance (data/duckdb.ts) and only here sets its limit: back to the default.
        await c.run('RESET memory_limit');
      } finally {
        c.closeSync();
      }
    };
  } finally {
    con.closeSync();
  }
}
