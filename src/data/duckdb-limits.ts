/**
 * While streaming, DuckDB's own memory is bounded too: its default memory_limit is 80% of the
 * machine's RAM, which an aggregate over millions of distinct ids would happily use. The limit
 * and a spill folder under the system temp dir are set for the duration of a streamed run (they
 * are settings of the process-wide instance) and put back afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDuckDB, sqlString } from './duckdb.js';

/** Limit DuckDB to `bytes` (spilling to a fresh temp folder); returns the function that restores the settings. */
export async function limitDuckDB(bytes: number): Promise<() => Promise<void>> {
  const con = await connectDuckDB();
  try {
    const get = async (name: string): Promise<string> => String((await (await con.run(`SELECT current_setting(${sqlString(name)})`)).getRows())[0]![0]);
    const memory = await get('memory_limit');
    const temp = await get('temp_directory');
    const spill = mkdtempSync(join(tmpdir(), 'esmm-duckdb-'));
    await con.run(`SET memory_limit = ${sqlString(`${Math.max(64, Math.round(bytes / 1024 ** 2))}MiB`)}`);
    await con.run(`SET temp_directory = ${sqlString(spill)}`);
    return async () => {
      const c = await connectDuckDB();
      try {
        await c.run(`SET memory_limit = ${sqlString(memory)}`);
        await c.run(`SET temp_directory = ${sqlString(temp)}`);
      } finally {
        c.closeSync();
        rmSync(spill, { recursive: true, force: true });
      }
    };
  } finally {
    con.closeSync();
  }
}
