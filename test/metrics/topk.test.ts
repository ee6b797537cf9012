import { describe, expect, it } from 'vitest';
import { topK } from '../../src/metrics/topk.js';

describe('topK', () => {
  it('scores the top fraction as predicted positive', () => {
    const scores = [0.9, 0.1, 0.8, 0.3, 0.7, 0.2, 0.6, 0.4, 0.5, 0.05];
    const labels = [1, 1, 0, 0, 1, 0, 0, 1, 0, 0];
    const r = topK(labels, scores, 0.3); // top 3: .9 (1), .8 (0), .7 (1)
    expect(r.k).toBe(3);
    expect(r.threshold).toBe(0.7);
    expect(r.truePositives).toBe(2);
    expect(r.precision).toBeCloseTo(2 / 3, 12);
    expect(r.recall).toBeCloseTo(2 / 4, 12);
    expect(r.f1).toBeCloseTo((2 * (2 / 3) * 0.5) / (2 / 3 + 0.5), 12);
  });

  it('shares tied rows at the cut in proportion', () => {
    const r = topK([1, 1, 0, 0, 0], [0.9, 0.5, 0.5, 0.5, 0.1], 0.4); // k = 2: .9 plus 1 of 3 tied
    expect(r.k).toBe(2);
    expect(r.truePositives).toBeCloseTo(1 + 1 / 3, 12);
    expect(r.precision).toBeCloseTo(2 / 3, 12);
    expect(r.recall).toBeCloseTo(2 / 3, 12);
    expect(r.f1).toBeCloseTo(2 / 3, 12);
  });

  it('takes at least one row and rejects bad fractions', () => {
    expect(topK([1, 0, 0], [0.9, 0.2, 0.1], 0.001).k).toBe(1);
    expect(() => topK([1], [0.5], 0)).toThrow(/fraction/);
    expect(() => topK([1], [0.5], 1.5)).toThrow(/fraction/);
  });
});
