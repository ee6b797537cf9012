/** A JSONL object/array or a Parquet LIST in a categorical column is refused (file, row, column), not stringified. */
import { join, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectDuckDB, sqlString } from '../../src/data/duckdb.js';
import { readAll } from '../../src/data/reader.js';
import { UserError } from '../../src/errors.js';
import { errorOf, SCHEMA, tempFile } from './fixtures.js';

const good = { click: 1, buy: 0, cart: 0, user: 'u1', item: '0012', tags: 'a', price: 3.5, true_pctr: 0.1 };
const jsonl = (rows: object[]): string => tempFile('t.jsonl', `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);

async function userErrorOf(file: string): Promise<UserError> {
  const e = await errorOf(() => readAll(file, { schema: SCHEMA }));
  expect(e).toBeInstanceOf(UserError);
  expect(e.message).not.toContain('\n');
  return e as UserError;
}

describe('nested values in categorical columns', () => {
  it('a JSONL object in a categorical column names file, row and column', async () => {
    const file = jsonl([good, { ...good, item: { id: 7 } }, good]);
    const e = await userErrorOf(file);
    expect(e.location).toEqual({ file, row: 2, column: 'item' });
    expect(e.message).toMatch(/JSON object is not a category value/);
  });

  it('a JSONL array in a multi-valued or group column too', async () => {
    const arr = jsonl([good, good, { ...good, tags: ['a', 'b'] }]);
    expect((await userErrorOf(arr)).location).toEqual({ file: arr, row: 3, column: 'tags' });
    const grp = jsonl([{ ...good, user: [1] }]);
    expect((await userErrorOf(grp)).location).toMatchObject({ file: grp, row: 1 });
  });

  it('JSONL scalars still read as before: strings, numbers, null, and a string that looks like JSON', async () => {
    const file = jsonl([good, { ...good, user: 12, item: '[1, 2]' }, { ...good, user: null }]);
    const { data } = await readAll(file, { schema: SCHEMA });
    expect(data.categorical.get('user')).toEqual(['u1', '12', '']);
    expect(data.categorical.get('item')).toEqual(['0012', '[1, 2]', '0012']);
  });

  it('a Parquet LIST column used as a category is refused, naming the column', async () => {
    const file = join(dirname(tempFile('x', '')), 't.parquet');
    const con = await connectDuckDB();
    await con.run(
      `COPY (SELECT 1 AS click, 0 AS buy, 0 AS cart, 'u1' AS "user", [1, 2] AS item, 'a' AS tags, 3.5 AS price, 0.1 AS true_pctr) TO ${sqlString(file)} (FORMAT PARQUET)`,
    );
    const e = await userErrorOf(file);
    expect(e.location).toMatchObject({ file, column: 'item' });
    expect(e.message).toMatch(/nested values/);
  });
});
