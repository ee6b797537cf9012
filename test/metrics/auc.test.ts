import { describe, expect, it } from 'vitest';
import { auc } from '../../src/metrics/auc.js';

/** O(n^2) reference: fraction of (positive, negative) pairs ranked right, ties counting half. */
function pairwiseAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  let good = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) good += 1;
      else if (scores[i] === scores[j]) good += 0.5;
    }
  }
  return good / pairs;
}

/** Small deterministic generator for test data. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('auc', () => {
  it('matches the scikit-learn documentation example', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 15);
  });

  it('counts ties as half a pair (midranks)', () => {
    expect(auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    // pos .5: 1 + 0.5; pos .9: 2; pos .5: 1 + 0.5 -> 5 of 6 pairs
    expect(auc([0, 0, 1, 1, 1], [0.1, 0.5, 0.5, 0.9, 0.5])).toBeCloseTo(5 / 6, 15);
  });

  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(auc([0, 0, 1, 1], [1, 2, 3, 4])).toBe(1);
    expect(auc([1, 1, 0, 0], [1, 2, 3, 4])).toBe(0);
  });

  it('equals the pairwise reference on random data with many ties', () => {
    const rand = lcg(7);
    const n = 1500;
    const labels = new Uint8Array(n);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rand() < 0.3 ? 1 : 0;
      // 11 distinct values, correlated with the label: heavy ties
      scores[i] = Math.round(10 * Math.min(1, rand() * 0.8 + labels[i]! * 0.3)) / 10;
    }
    const ref = pairwiseAuc(labels, scores);
    expect(ref).toBeGreaterThan(0.55);
    expect(Math.abs(auc(labels, scores) - ref)).toBeLessThan(1e-12);
  });

  it('accepts Float64Array labels and unsorted input', () => {
    const labels = Float64Array.from([1, 0, 1, 0, 0]);
    const scores = Float64Array.from([0.3, 0.2, 0.9, 0.9, 0.1]);
    expect(auc(labels, scores)).toBeCloseTo(pairwiseAuc(labels, scores), 15);
  });

  it('is NaN when one class is absent', () => {
    expect(auc([0, 0, 0], [0.1, 0.2, 0.3])).toBeNaN();
    expect(auc([1, 1], [0.1, 0.2])).toBeNaN();
    expect(auc([], [])).toBeNaN();
  });

  it('rejects labels other than 0/1, NaN scores and length mismatches', () => {
    expect(() => auc([0, 2], [0.1, 0.2])).toThrow(/label at index 1/);
    expect(() => auc([0, 1], [0.1, Number.NaN])).toThrow(/NaN/);
    expect(() => auc([0, 1], [0.1])).toThrow(/2 labels but 1 scores/);
  });
});
