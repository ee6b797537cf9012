import { describe, expect, it } from 'vitest';
import { readAll } from '../../src/data/reader.js';
import { UserError } from '../../src/errors.js';
import { errorOf, fixture, HEADER, SCHEMA, tempFile } from './fixtures.js';

const GOOD_ROW = '1,1,1,u1,0012,a,3.5,0.1';

/** A CSV with a good first row and `row2` as data row 2. */
function withRow2(row2: string): string {
  return tempFile('t.csv', `${HEADER}\n${GOOD_ROW}\n${row2}\n${GOOD_ROW}\n`);
}

async function userErrorOf(file: string, opts: Partial<Parameters<typeof readAll>[1]> = {}): Promise<UserError> {
  const e = await errorOf(() => readAll(file, { schema: SCHEMA, ...opts }));
  expect(e).toBeInstanceOf(UserError);
  // One line, no DuckDB stack trace or "Possible fixes" block.
  expect(e.message).not.toContain('\n');
  expect(e.message).not.toMatch(/Possible fixes|Invalid Input Error/);
  return e as UserError;
}

describe('row-level validation', () => {
  it.each([
    ['yes', 'yes,0,0,u2,12,,,0.2', 'click'],
    ['empty', ',0,0,u2,12,,,0.2', 'click'],
    ['2', '1,2,0,u2,12,,,0.2', 'buy'],
    ['0.5', '1,0,0.5,u2,12,,,0.2', 'cart'],
  ])('refuses a label %s, naming file, row and column', async (_what, row, column) => {
    const file = withRow2(row);
    const e = await userErrorOf(file);
    expect(e.location).toEqual({ file, row: 2, column });
    expect(e.message).toContain(file);
    expect(e.message).toContain('row 2');
    expect(e.message).toContain(`column '${column}'`);
    expect(e.message).toMatch(/label must be 0 or 1/);
  });

  it('accepts 1.0 and 0.0 as labels', async () => {
    const { data } = await readAll(withRow2('1.0,0.0,0,u2,12,,,0.2'), { schema: SCHEMA });
    expect([...data.labels.get('click')!]).toEqual([1, 1, 1]);
  });

  it('refuses buy=1 with click=0', async () => {
    const file = fixture('buy_without_click.csv');
    const e = await userErrorOf(file);
    expect(e.location).toEqual({ file, row: 2, column: 'buy' });
    expect(e.message).toMatch(/without a click/);
  });

  it('refuses an action=1 with click=0', async () => {
    const file = fixture('cart_without_click.csv');
    const e = await userErrorOf(file);
    expect(e.location).toEqual({ file, row: 2, column: 'cart' });
  });

  it('refuses text in a numeric column', async () => {
    const file = fixture('text_in_numeric.csv');
    const e = await userErrorOf(file);
    expect(e.location).toEqual({ file, row: 2, column: 'price' });
    expect(e.message).toContain("'cheap'");
  });

  it.each(['NaN', 'Inf', '-inf', 'infinity'])('refuses %s in a numeric column', async (v) => {
    const e = await userErrorOf(withRow2(`0,0,0,u2,12,,${v},0.2`));
    expect(e.location.row).toBe(2);
    expect(e.location.column).toBe('price');
    expect(e.message).toMatch(/not allowed in a numeric column/);
  });

  it('refuses NaN in a truth column too', async () => {
    const e = await userErrorOf(withRow2('0,0,0,u2,12,,1,nan'));
    expect(e.location.column).toBe('true_pctr');
  });

  it('skips and counts row-level problems with skipInvalid', async () => {
    const file = tempFile(
      's.csv',
      [
        HEADER,
        GOOD_ROW,
        'yes,0,0,u2,12,,,0.2', // bad label
        '0,1,0,u2,12,,,0.2', // buy without click
        '0,0,1,u2,12,,,0.2', // cart without click
        '1,0,0,u2,12,,abc,0.2', // bad numeric
        '1,0,0,u2,12,,NaN,0.2', // bad numeric
        '0,0,0,u9,13,,7,0.2',
      ].join('\n') + '\n',
    );
    const { data, stats } = await readAll(file, { schema: SCHEMA, skipInvalid: true });
    expect(data.rows).toBe(2);
    expect(data.categorical.get('user')).toEqual(['u1', 'u9']);
    expect(stats).toMatchObject({ rows: 7, kept: 2, skipped: 5 });
    expect(stats.skippedByReason).toEqual({ bad_label: 1, buy_without_click: 1, action_without_click: 1, bad_numeric: 2 });
    expect(stats.skippedExamples[0]).toEqual({ row: 2, reason: 'bad_label', column: 'click', value: 'yes' });
  });
});

describe('structural problems always fail', () => {
  it.each([
    ['ragged_short.csv', 3, /too few fields \(expected 8, found 6\)/],
    ['ragged_long.csv', 2, /too many fields \(expected 8, found 9\)/],
    ['unterminated_quote.csv', 2, /unterminated quote/],
  ])('%s names the row', async (name, row, message) => {
    const file = fixture(name);
    for (const skipInvalid of [false, true]) {
      const e = await userErrorOf(file, { skipInvalid });
      expect(e.location).toEqual({ file, row });
      expect(e.message).toMatch(message);
    }
  });

  it('finds a ragged row far past the first DuckDB chunk (stream errors are not swallowed)', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => (i === 25_000 ? '1,1' : `0,0,0,u${i % 7},${i},,1,0.1`));
    const file = tempFile('big.csv', `${HEADER}\n${rows.join('\n')}\n`);
    const e = await userErrorOf(file, { chunkRows: 4096 });
    expect(e.location.row).toBe(25_001);
  });

  it('names the missing column and lists what the file has', async () => {
    const file = fixture('missing_column.csv');
    const e = await userErrorOf(file, { skipInvalid: true });
    expect(e.location).toEqual({ file, column: 'item' });
    expect(e.message).toMatch(/missing columns 'item', 'true_pctr'|missing column 'item'/);
    expect(e.message).toContain('the file has: click, buy, cart, user, tags, price');
  });

  it('refuses an empty file and a header without rows', async () => {
    expect((await userErrorOf(fixture('empty.csv'))).message).toMatch(/empty file: no header/);
    expect((await userErrorOf(fixture('header_only.csv'))).message).toMatch(/no data rows/);
  });

  it('names the exact row of a malformed JSON line', async () => {
    const file = fixture('malformed.jsonl');
    const e = await userErrorOf(file);
    expect(e.location).toEqual({ file, row: 2 });
    expect(e.message).toMatch(/malformed JSON/);
  });

  it('refuses a label column listed as a feature before reading', async () => {
    const schema = { ...SCHEMA, categorical: ['user', 'buy'] };
    // The file does not even exist: the schema check comes first.
    const e = await errorOf(() => readAll('/nonexistent/x.csv', { schema }));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(/label leakage/);
  });

  it('refuses a duplicated header name and an unknown extension', async () => {
    const dup = tempFile('d.csv', 'click,buy,click\n1,1,1\n');
    expect((await userErrorOf(dup)).message).toMatch(/appears twice in the header/);
    expect((await userErrorOf(tempFile('x.txt', 'a\n1\n'))).message).toMatch(/file format/);
  });

  it('reports a missing file as a UserError', async () => {
    expect((await userErrorOf('/nonexistent/file.csv')).message).toMatch(/file not found/);
  });
});
