import { describe, expect, it } from 'vitest';
import { sliceChunk, takeRows } from '../../src/data/chunks.js';
import { rowsToRawChunk } from '../../src/data/rows.js';
import type { Schema } from '../../src/data/schema.js';
import { UserError } from '../../src/errors.js';
import { fnv1a32 } from '../../src/features/hash.js';
import { GroupInterner } from '../../src/features/groups.js';
import { FeatureSpec, type FeatureSpecJSON } from '../../src/features/spec.js';

const schema: Schema = {
  labels: { click: 'click', buy: 'buy', actions: ['cart', 'wish'] },
  categorical: ['item', 'city'],
  multi_valued: [{ name: 'tags', separator: '|', weight_separator: ':' }],
  numeric: ['price', 'age'],
  group: 'user',
  truth: ['true_pctr'],
};

// item counts: b x3, a x2, c x2, d x1  -> ids by count desc, then value asc: b=1, a=2, c=3, d=4
const train = rowsToRawChunk(
  [
    { click: 1, buy: 1, cart: 1, wish: 0, item: 'b', city: 'x', tags: 't1:2|t2', price: 1, age: 10, user: 'u1', true_pctr: 0.5 },
    { click: 1, buy: 0, cart: 0, wish: 1, item: 'a', city: 'x', tags: 't1', price: 3, age: 20, user: 'u2', true_pctr: 0.25 },
    { click: 0, buy: 0, cart: 0, wish: 0, item: 'c', city: '', tags: '', price: '', age: 30, user: 'u1', true_pctr: 0.1 },
    { click: 0, buy: 0, cart: 0, wish: 0, item: 'b', city: 'y', tags: 't3:0.5', price: 5, age: 40, user: 'u3', true_pctr: 0.1 },
    { click: 0, buy: 0, cart: 0, wish: 0, item: 'a', city: 'x', tags: 't2|t2', price: 7, age: 50, user: 'u2', true_pctr: 0.1 },
    { click: 0, buy: 0, cart: 0, wish: 0, item: 'c', city: 'y', tags: 't1', price: 9, age: 60, user: 'u4', true_pctr: 0.1 },
    { click: 0, buy: 0, cart: 0, wish: 0, item: 'b', city: 'z', tags: 't1', price: 11, age: 70, user: 'u1', true_pctr: 0.1 },
    { click: 0, buy: 0, cart: 0, wish: 0, item: 'd', city: 'x', tags: 't9', price: 13, age: 80, user: 'u5', true_pctr: 0.1 },
  ],
  schema,
);

describe('FeatureSpec vocabulary', () => {
  const spec = FeatureSpec.fit(schema, train);

  it('orders ids by count desc then value asc, with 0 as the OOV/missing id', () => {
    const enc = spec.transform(train);
    expect([...enc.categorical[0]!]).toEqual([1, 2, 3, 1, 2, 3, 1, 4]);
    // city: x x4, y x2, z x1; '' is missing -> 0
    expect([...enc.categorical[1]!]).toEqual([1, 1, 0, 2, 1, 2, 3, 1]);
    expect(spec.categoricalFields).toEqual([
      { name: 'item', size: 5, oovId: 0, encoding: 'vocabulary' },
      { name: 'city', size: 4, oovId: 0, encoding: 'vocabulary' },
    ]);
  });

  it('maps unseen values to the OOV id and counts them per field', () => {
    const test = rowsToRawChunk(
      [
        { item: 'zz', city: 'x', tags: 'new|t1', price: 1, age: 1, user: 'u9' },
        { item: 'a', city: 'q', tags: '', price: 1, age: 1, user: 'u9' },
        { item: 'yy', city: '', tags: 'new2', price: 1, age: 1, user: 'u8' },
      ],
      schema,
      { labelsOptional: true },
    );
    const stats = { oov: {} as Record<string, number> };
    const enc = spec.transform(test, stats);
    expect([...enc.categorical[0]!]).toEqual([0, 2, 0]);
    expect([...enc.categorical[1]!]).toEqual([1, 0, 0]);
    // Missing ('') is not counted as OOV; unseen values are.
    expect(stats.oov).toEqual({ item: 2, city: 1, tags: 2 });
    expect([...enc.labels.click]).toEqual([0, 0, 0]);
  });

  it('applies min_count globally and per field', () => {
    const s = FeatureSpec.fit(schema, train, { min_count: 2, fields: { city: { min_count: 3 } } });
    expect([...s.transform(train).categorical[0]!]).toEqual([1, 2, 3, 1, 2, 3, 1, 0]); // d seen once
    expect([...s.transform(train).categorical[1]!]).toEqual([1, 1, 0, 0, 1, 0, 0, 1]); // only x (4)
    expect(s.categoricalFields[1]!.size).toBe(2);
  });

  it('is deterministic: fitting on shuffled rows gives the same ids', () => {
    const reversed = takeRows(train, [7, 6, 5, 4, 3, 2, 1, 0]);
    expect(FeatureSpec.fit(schema, reversed).toJSON()).toEqual(spec.toJSON());
  });

  it('fits on several chunks like on their concatenation', () => {
    const parts = [sliceChunk(train, 0, 3), sliceChunk(train, 3, 5), sliceChunk(train, 5, 8)];
    const cfg = { fields: { age: { transform: 'quantile' as const, buckets: 3 } } };
    const a = FeatureSpec.fit(schema, parts, cfg).toJSON();
    const b = FeatureSpec.fit(schema, train, cfg).toJSON();
    expect(a.categorical).toEqual(b.categorical);
    expect(a.multiValued).toEqual(b.multiValued);
    expect(a.numeric[1]).toEqual(b.numeric[1]);
    // Streaming moments agree with the one-pass ones to rounding.
    const [pa, pb] = [a.numeric[0]!, b.numeric[0]!] as { mean: number; std: number }[];
    expect(pa!.mean).toBeCloseTo(pb!.mean, 12);
    expect(pa!.std).toBeCloseTo(pb!.std, 12);
  });
});

describe('multi-valued, numerics, labels, groups', () => {
  const spec = FeatureSpec.fit(schema, train);
  const enc = spec.transform(train);

  it('encodes multi-valued cells as CSR ids with weights', () => {
    // tags counts: t1 x5 (t1:2 counts as t1), t2 x3, t3 x1, t9 x1 -> t1=1, t2=2, t3=3, t9=4
    const m = enc.multiValued[0]!;
    expect([...m.offsets]).toEqual([0, 2, 3, 3, 4, 6, 7, 8, 9]);
    expect([...m.ids]).toEqual([1, 2, 1, 3, 2, 2, 1, 1, 4]);
    expect([...m.weights!]).toEqual([2, 1, 1, 0.5, 1, 1, 1, 1, 1]);
    expect(spec.multiValuedFields).toEqual([{ name: 'tags', size: 5, oovId: 0, encoding: 'vocabulary' }]);
  });

  it('refuses a bad weight, naming the row', () => {
    const bad = rowsToRawChunk([{ item: 'a', city: 'x', tags: 't1:heavy', price: 1, age: 1, user: 'u' }], schema, { labelsOptional: true });
    expect(() => spec.transform(bad)).toThrow(UserError);
    expect(() => spec.transform(bad)).toThrow(/row 1, column 'tags': bad weight 'heavy'/);
  });

  it('standardises numerics then applies tanh; missing becomes 0', () => {
    expect(spec.numericFields).toEqual(['price', 'age']);
    const prices = [1, 3, 5, 7, 9, 11, 13]; // the missing one is excluded from the fit
    const mean = prices.reduce((a, b) => a + b) / prices.length;
    const std = Math.sqrt(prices.reduce((a, b) => a + (b - mean) ** 2, 0) / prices.length);
    // Row-major [rows x 2]: row 0 = (price, age)
    expect(enc.numeric.length).toBe(train.rows * 2);
    expect(enc.numeric[0]).toBeCloseTo(Math.tanh((1 - mean) / std), 6);
    expect(enc.numeric[2 * 2]).toBe(0); // row 2 price missing
    expect(enc.numeric[1]).toBeCloseTo(Math.tanh((10 - 45) / Math.sqrt(525)), 6);
  });

  it('turns quantile numerics into categorical fields after the schema categoricals', () => {
    const s = FeatureSpec.fit(schema, train, { fields: { age: { transform: 'quantile', buckets: 4 } } });
    expect(s.numericFields).toEqual(['price']);
    expect(s.categoricalFields.map((f) => f.name)).toEqual(['item', 'city', 'age']);
    // ages 10..80, cuts at sorted[2]=30, sorted[4]=50, sorted[6]=70
    expect(s.categoricalFields[2]).toEqual({ name: 'age', size: 5, oovId: 0, encoding: 'quantile' });
    const e = s.transform(train);
    expect([...e.categorical[2]!]).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(e.numeric.length).toBe(train.rows);
  });

  it('encodes labels as floats, action = any post-click action', () => {
    expect([...enc.labels.click]).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
    expect([...enc.labels.buy]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect([...enc.labels.action!]).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
    expect([...enc.labels.actions.get('wish')!]).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
    expect(enc.truth.get('true_pctr')![0]).toBeCloseTo(0.5);
  });

  it('interns groups consistently across chunks when given one interner', () => {
    const groups = new GroupInterner();
    const a = spec.transform(train, { groups });
    const b = spec.transform(train, { groups });
    expect([...a.group!]).toEqual([0, 1, 0, 2, 1, 3, 0, 4]);
    expect([...b.group!]).toEqual([...a.group!]);
    expect(groups.size).toBe(5);
  });
});

describe('hashing', () => {
  it('hashes into 1..N with FNV-1a, 0 for missing, never OOV', () => {
    const spec = FeatureSpec.fit(schema, train, { hash_buckets: 7, fields: { city: { hash_buckets: 0 } } });
    expect(spec.categoricalFields[0]).toEqual({ name: 'item', size: 8, oovId: 0, encoding: 'hash' });
    expect(spec.categoricalFields[1]!.encoding).toBe('vocabulary');
    const stats = { oov: {} as Record<string, number> };
    const test = rowsToRawChunk([{ item: 'never-seen', city: 'x', tags: 'q', price: 1, age: 1, user: 'u' }, { item: '', city: 'x', tags: '', price: 1, age: 1, user: 'u' }], schema, { labelsOptional: true });
    const enc = spec.transform(test, stats);
    expect(enc.categorical[0]![0]).toBe(1 + (fnv1a32('never-seen') % 7));
    expect(enc.categorical[0]![1]).toBe(0);
    expect(stats.oov).toEqual({});
  });
});

describe('JSON round trip', () => {
  it('gives identical ids and values after toJSON/fromJSON through a string', () => {
    const spec = FeatureSpec.fit(schema, train, { fields: { age: { transform: 'quantile', buckets: 3 }, city: { hash_buckets: 5 } } });
    const back = FeatureSpec.fromJSON(JSON.parse(JSON.stringify(spec.toJSON())) as FeatureSpecJSON);
    expect(back.transform(train)).toEqual(spec.transform(train));
    expect(back.categoricalFields).toEqual(spec.categoricalFields);
    expect(back.toJSON()).toEqual(spec.toJSON());
  });

  it('refuses an unknown version and bad config', () => {
    const j = FeatureSpec.fit(schema, train).toJSON();
    expect(() => FeatureSpec.fromJSON({ ...j, version: 99 })).toThrow(/unsupported feature spec version 99/);
    expect(() => FeatureSpec.fit(schema, train, { min_count: 0 })).toThrow(/features.min_count/);
    expect(() => FeatureSpec.fit(schema, train, { fields: { nope: {} } })).toThrow(/not a feature column/);
    expect(() => FeatureSpec.fit(schema, train, { fields: { price: { hash_buckets: 3 } } })).toThrow(/categorical fields/);
  });
});
