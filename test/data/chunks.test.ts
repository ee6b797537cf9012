import { describe, expect, it } from 'vitest';
import { concatChunks, sliceChunk, takeRows } from '../../src/data/chunks.js';
import { rowsToRawChunk } from '../../src/data/rows.js';
import { SCHEMA } from './fixtures.js';

const rows = [
  { click: 1, buy: 1, cart: 0, user: 'u1', item: 'a', tags: 'x', price: 1, true_pctr: 0.1 },
  { click: 0, buy: 0, cart: 0, user: 'u2', item: 'b', tags: '', price: '', true_pctr: 0.2 },
  { click: 1, buy: 0, cart: 1, user: 'u3', item: 'c', tags: 'y|z', price: 3, true_pctr: 0.3 },
];

describe('chunk operations', () => {
  const chunk = rowsToRawChunk(rows, SCHEMA);

  it('slices rows with row numbers', () => {
    const s = sliceChunk(chunk, 1, 3);
    expect(s.rows).toBe(2);
    expect(s.firstRow).toBe(2);
    expect(s.categorical.get('item')).toEqual(['b', 'c']);
    expect([...s.numeric.get('price')!]).toEqual([NaN, 3]);
    expect(s.group).toEqual(['u2', 'u3']);
  });

  it('takes rows in any order, with repeats', () => {
    const t = takeRows(chunk, [2, 0, 2]);
    expect(t.categorical.get('item')).toEqual(['c', 'a', 'c']);
    expect([...t.labels.get('cart')!]).toEqual([1, 0, 1]);
    expect([...t.truth.get('true_pctr')!]).toEqual([0.3, 0.1, 0.3]);
    expect(() => takeRows(chunk, [3])).toThrow(RangeError);
  });

  it('concatenation undoes slicing', () => {
    const joined = concatChunks([sliceChunk(chunk, 0, 1), sliceChunk(chunk, 1, 2), sliceChunk(chunk, 2, 3)]);
    expect(joined).toEqual(chunk);
  });
});

describe('rowsToRawChunk', () => {
  it('reads in-memory rows without labels when labelsOptional', () => {
    const c = rowsToRawChunk([{ user: 'u1', item: 12, tags: 'a', price: 2 }], SCHEMA, { labelsOptional: true });
    expect([...c.labels.get('click')!]).toEqual([0]);
    expect(c.categorical.get('item')).toEqual(['12']);
    expect(c.truth.size).toBe(0);
  });

  it('refuses bad labels, buy without click, bad numbers and missing fields, naming row and column', () => {
    expect(() => rowsToRawChunk([rows[0]!, { ...rows[0]!, click: 2 }], SCHEMA)).toThrow(/<rows>, row 2, column 'click': label must be 0 or 1/);
    expect(() => rowsToRawChunk([{ ...rows[0]!, click: 0 }], SCHEMA)).toThrow(/row 1, column 'buy'/);
    expect(() => rowsToRawChunk([{ ...rows[0]!, price: 'NaN' }], SCHEMA)).toThrow(/column 'price': not a finite number/);
    const { item: _item, ...noItem } = rows[0]!;
    expect(() => rowsToRawChunk([noItem], SCHEMA)).toThrow(/column 'item': missing field/);
  });
});
