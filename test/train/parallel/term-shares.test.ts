/**
 * Loss-term shares of the sharded step's slices (src/train/parallel/term-shares.ts): row shares for
 * a mean over rows, click shares for a mean over clicked rows, row shares again for a batch without
 * a click (every slice's clicked-row loss is 0 then), and loss weights rescaled by share over row share.
 */
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../../src/data/batch-assembler.js';
import { sliceLossWeights, termShares } from '../../../src/train/parallel/term-shares.js';

function batchOfClicks(clicks: number[]): Batch {
  return { size: clicks.length, categorical: [], multiValued: [], numeric: new Float32Array(0), labels: new Map([['click', Float32Array.from(clicks)]]) };
}

describe('termShares', () => {
  const ranges: [number, number][] = [[0, 4], [4, 7], [7, 8]];

  it('gives a clicked-row term each slice\'s share of the clicks, including a slice with none', () => {
    const shares = termShares([false, true], batchOfClicks([1, 0, 1, 1, 0, 0, 0, 1]), ranges);
    expect(shares.map((s) => Array.from(s))).toEqual([[0.5, 0.75], [0.375, 0], [0.125, 0.25]]);
    for (const j of [0, 1]) expect(shares.reduce((t, s) => t + s[j]!, 0)).toBeCloseTo(1, 12);
  });

  it('falls back to row shares in a batch without a click', () => {
    const shares = termShares([true], batchOfClicks([0, 0, 0, 0, 0, 0, 0, 0]), ranges);
    expect(shares.map((s) => s[0])).toEqual([0.5, 0.375, 0.125]);
  });

  it('rescales a slice\'s loss weights by share over row share', () => {
    expect(Array.from(sliceLossWeights(Float32Array.of(1, 2), Float64Array.of(0.5, 0.75), 0.5))).toEqual([1, 3]);
  });
});
