import { join } from 'node:path';
import { connectDuckDB, sqlString } from '../../src/data/duckdb.js';

/**
 * Parquet files part-0..part-(files-1) in `folder` for the streaming tests: rows with a unique id
 * column `rid` (a categorical feature, so every row has its own id and the rows a trainer sees can
 * be told apart), `user_id`, click / buy labels and a numeric `price`. With `withTime`, a `ts`
 * column gives each row a time, in a shuffled order across the files (the latest rows are not
 * one file's tail).
 */
export async function writeStreamParts(folder: string, files: number, rowsPerFile: number, withTime = false): Promise<void> {
  const con = await connectDuckDB();
  try {
    for (let f = 0; f < files; f++) {
      const from = f * rowsPerFile;
      const ts = withTime ? ', (hash(i * 13) % 100000)::DOUBLE AS ts' : '';
      const sql = `SELECT 'r' || i AS rid, 'u' || (i % 97) AS user_id,
        (hash(i) % 4 = 0)::INT AS click, ((hash(i) % 4 = 0) AND (hash(i * 7) % 5 = 0))::INT AS buy,
        (i % 13)::DOUBLE AS price${ts} FROM range(${from}, ${from + rowsPerFile}) t(i)`;
      await con.run(`COPY (${sql}) TO ${sqlString(join(folder, `part-${f}.parquet`))} (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
    }
  } finally {
    con.closeSync();
  }
}
