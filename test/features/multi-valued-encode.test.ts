import { describe, expect, it } from 'vitest';
import { VocabularyEncoder } from '../../src/features/categorical-encoder.js';
import { encodeMultiColumn, forEachItem } from '../../src/features/multi-valued.js';

/** The ids forEachItem gives (the reference the unweighted fast path must match). */
function reference(cells: string[], separator: string, enc: VocabularyEncoder): { ids: number[]; offsets: number[]; unseen: number } {
  const ids: number[] = [];
  const offsets = [0];
  let unseen = 0;
  for (const cell of cells) {
    forEachItem(cell, { name: 'tags', separator }, (v) => {
      ids.push(enc.encode(v));
      if (enc.isUnseen(v)) unseen++;
    }, () => ({ file: 'x', row: 1 }));
    offsets.push(ids.length);
  }
  return { ids, offsets, unseen };
}

describe('multi-valued cells without weights', () => {
  it.each(['|', '||', ', '])('give the same ids, offsets and unseen count as splitting each cell (separator %j)', (sep) => {
    const enc = VocabularyEncoder.fromCounts(new Map([['a', 3], ['bb', 2], ['c c', 2], ['rare', 1]]), 2);
    const parts = ['a', 'bb', 'c c', 'rare', 'new', ''];
    const cells: string[] = [''];
    for (let i = 0; i < 200; i++) {
      // Cells with leading, trailing and doubled separators and empty items.
      const n = i % 5;
      const items = Array.from({ length: n }, (_, k) => parts[(i * 7 + k * 3) % parts.length]!);
      cells.push((i % 3 === 0 ? sep : '') + items.join(i % 4 === 0 ? sep + sep : sep) + (i % 6 === 0 ? sep : ''));
    }
    const got = encodeMultiColumn(cells, { name: 'tags', separator: sep }, enc, 'x', 1);
    const want = reference(cells, sep, enc);
    expect(Array.from(got.ids.ids)).toEqual(want.ids);
    expect(Array.from(got.ids.offsets)).toEqual(want.offsets);
    expect(got.unseen).toBe(want.unseen);
    expect(want.ids.length).toBeGreaterThan(200);
  });
});
