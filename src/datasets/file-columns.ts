/** The column names of a data file, as the generic reader will see them (for schema patterns). */
import type { DataConfig } from '../config/types.js';
import { readCsvHeader } from '../data/csv-header.js';
import { connectDuckDB, sqlString, translateDuckDBError } from '../data/duckdb.js';
import { defaultDelimiter, detectFormat } from '../data/format.js';
import { UserError } from '../errors.js';

export async function fileColumns(file: string, data: Pick<DataConfig, 'format' | 'header' | 'columns'>): Promise<string[]> {
  const format = detectFormat(file, data.format);
  if (format === 'csv' || format === 'tsv') {
    if (data.header === false) {
      if (data.columns === undefined) throw new UserError('a file without a header needs its column names', { key: 'data.columns' });
      return data.columns;
    }
    return readCsvHeader(file, defaultDelimiter(format));
  }
  const source = format === 'parquet' ? `read_parquet(${sqlString(file)})` : `read_json(${sqlString(file)}, format='newline_delimited', records=true)`;
  const con = await connectDuckDB();
  try {
    const rows = await (await con.run(`DESCRIBE SELECT * FROM ${source}`)).getRows();
    return rows.map((r) => String(r[0]));
  } catch (e) {
    throw translateDuckDBError(e, file, (line) => line);
  } finally {
    con.closeSync();
  }
}
