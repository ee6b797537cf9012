import { describe, expect, it } from 'vitest';
import { VocabularyEncoder, encoderFromJSON } from '../../src/features/categorical-encoder.js';
import { StringIndex } from '../../src/features/string-index.js';

/** Values that collide in the low hash bits, share prefixes, differ only in length or width. */
function awkwardValues(): string[] {
  const out = ['a', 'ab', 'abc', 'b', 'A', 'ä', 'äb', 'ÿ', '中', '中文', '😀', '😀x', 'x😀', ' ', 'a b', 'tab\t', 'new\nline', '\u0000', 'a\u0000'];
  for (let i = 0; i < 5000; i++) out.push(`f205_${i}`, `u${i * 7919}`);
  return out;
}

describe('StringIndex', () => {
  it('finds every indexed value at its position and nothing else, as a Map would', () => {
    const values = awkwardValues();
    const index = new StringIndex(values);
    const map = new Map(values.map((v, k) => [v, k]));
    expect(index.size).toBe(values.length);
    for (const [v, k] of map) expect(index.indexOf(v)).toBe(k);
    for (const v of ['', 'abcd', 'c', 'f205_5000', 'u1', '中文x', '\u0000\u0000', 'ä ', 'a\u0001']) expect(index.indexOf(v)).toBe(map.get(v) ?? -1);
    values.forEach((v, k) => expect(index.valueAt(k)).toBe(v));
  });

  it('keeps the last position of a duplicate value, as new Map(list) does', () => {
    const index = new StringIndex(['x', 'y', 'x']);
    expect(index.indexOf('x')).toBe(2);
    expect(index.indexOf('y')).toBe(1);
  });

  it('stores Latin-1 and wide values alike, and an empty list', () => {
    const latin = new StringIndex(['café', 'naïve', 'ÿ']);
    expect(latin.indexOf('naïve')).toBe(1);
    expect(latin.valueAt(0)).toBe('café');
    const empty = new StringIndex([]);
    expect(empty.size).toBe(0);
    expect(empty.indexOf('a')).toBe(-1);
  });
});

describe('VocabularyEncoder on the StringIndex', () => {
  it('encodes, reports unseen values and round-trips through JSON exactly as before', () => {
    const counts = new Map<string, number>([['b', 5], ['a', 5], ['中', 3], ['rare', 1], ['', 9]]);
    const enc = VocabularyEncoder.fromCounts(counts, 2);
    // Ids by count descending, then value ascending; '' and values under min_count are OOV.
    expect(enc.values).toEqual(['a', 'b', '中']);
    expect(enc.size).toBe(4);
    expect(['a', 'b', '中', 'rare', '', 'zzz'].map((v) => enc.encode(v))).toEqual([1, 2, 3, 0, 0, 0]);
    expect(['a', 'rare', '', 'zzz'].map((v) => enc.isUnseen(v))).toEqual([false, true, false, true]);
    const json = JSON.parse(JSON.stringify(enc.toJSON()));
    expect(json).toEqual({ encoding: 'vocabulary', min_count: 2, values: ['a', 'b', '中'] });
    const back = encoderFromJSON(json);
    expect(['a', 'b', '中', 'rare'].map((v) => back.encode(v))).toEqual([1, 2, 3, 0]);
  });
});
