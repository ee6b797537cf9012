/**
 * The streamed run's DuckDB limits (src/data/duckdb-limits.ts): once DuckDB has spilled to its
 * temp folder it refuses to switch folders, so putting the settings back after a streamed run that
 * spilled must not fail (it did at the end of a 50M-row run, after the model was written), and a
 * second streamed run in the same process must be able to set its limit again.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { connectDuckDB } from '../../src/data/duckdb.js';
import { duckdbSpillFolder, limitDuckDB } from '../../src/data/duckdb-limits.js';

async function setting(name: string): Promise<string> {
  const con = await connectDuckDB();
  try {
    return String((await (await con.run(`SELECT current_setting('${name}')`)).getRows())[0]![0]);
  } finally {
    con.closeSync();
  }
}

/** A sort far larger than 64 MiB, so DuckDB must spill to its temp folder. */
async function spillingSort(): Promise<void> {
  const con = await connectDuckDB();
  try {
    await con.run('SET threads = 1');
    await con.run('CREATE OR REPLACE TEMP TABLE sorted AS SELECT i, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS s FROM range(3000000) t(i) ORDER BY s');
    const rows = (await (await con.run('SELECT count(*) FROM sorted')).getRows())[0]![0];
    expect(Number(rows)).toBe(3000000);
    await con.run('DROP TABLE sorted');
  } finally {
    con.closeSync();
  }
}

describe('limitDuckDB', () => {
  it('spills into its own temp folder, and putting the limit back after a spill does not fail, twice', async () => {
    const memory = await setting('memory_limit');
    for (let run = 1; run <= 2; run++) {
      const restore = await limitDuckDB(64 * 1024 ** 2);
      expect(await setting('memory_limit')).toMatch(/^6[0-9]\.[0-9]+ MiB$/);
      const folder = duckdbSpillFolder();
      expect(folder?.startsWith(tmpdir())).toBe(true);
      expect(await setting('temp_directory')).toBe(folder);
      await spillingSort();
      await restore(); // the old code threw here: "Cannot switch temporary directory ..."
      expect(await setting('memory_limit')).toBe(memory);
      expect(duckdbSpillFolder()).toBe(folder); // the same folder for the life of the process
      expect(existsSync(folder!)).toBe(true);
    }
  }, 120_000);
});
