import { describe, expect, it } from 'vitest';
import { rowsToRawChunk } from '../../src/data/rows.js';
import type { Schema } from '../../src/data/schema.js';
import { concatEncoded, sliceEncoded, takeEncodedRows } from '../../src/features/encoded-rows.js';
import { GroupInterner } from '../../src/features/groups.js';
import { FeatureSpec } from '../../src/features/spec.js';

const schema: Schema = {
  labels: { click: 'c', buy: 'b', actions: ['a'] },
  categorical: ['i'],
  multi_valued: [{ name: 't', separator: ',', weight_separator: '=' }],
  numeric: ['x', 'y'],
  group: 'u',
};
const raw = rowsToRawChunk(
  Array.from({ length: 6 }, (_, r) => ({ c: r % 2, b: 0, a: r % 2, i: `i${r % 3}`, t: Array.from({ length: r % 3 }, (_, k) => `t${k}=${r}`).join(','), x: r, y: -r, u: `u${r % 4}` })),
  schema,
);
const spec = FeatureSpec.fit(schema, raw);
const enc = spec.transform(raw, { groups: new GroupInterner() });

describe('encoded row operations', () => {
  it('gathering every row in order reproduces the chunk', () => {
    expect(takeEncodedRows(enc, [0, 1, 2, 3, 4, 5])).toEqual(enc);
  });

  it('concatenating slices reproduces the chunk, multi-valued offsets included', () => {
    const back = concatEncoded([sliceEncoded(enc, 0, 2), sliceEncoded(enc, 2, 5), sliceEncoded(enc, 5, 6)]);
    expect(back).toEqual(enc);
  });

  it('gathers rows of every column consistently', () => {
    const t = takeEncodedRows(enc, [5, 2]);
    const direct = spec.transform(rowsToRawChunk([5, 2].map((r) => ({ c: r % 2, b: 0, a: r % 2, i: `i${r % 3}`, t: Array.from({ length: r % 3 }, (_, k) => `t${k}=${r}`).join(','), x: r, y: -r, u: `u${r % 4}` })), schema));
    expect(t.categorical).toEqual(direct.categorical);
    expect(t.multiValued).toEqual(direct.multiValued);
    expect(t.numeric).toEqual(direct.numeric);
    expect(t.labels).toEqual(direct.labels);
    expect([...t.group!]).toEqual([enc.group![5], enc.group![2]]);
  });
});
