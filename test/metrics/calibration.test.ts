import { describe, expect, it } from 'vitest';
import { calibration } from '../../src/metrics/calibration.js';

describe('calibration', () => {
  it('computes the reliability table and ECE with quantile bins', () => {
    const scores = [0.1, 0.9, 0.2, 0.1, 0.2, 0.9];
    const labels = [0, 1, 0, 0, 1, 1];
    const c = calibration(labels, scores, 3);
    expect(c.meanPredicted).toBeCloseTo(0.4, 12);
    expect(c.observedRate).toBeCloseTo(0.5, 12);
    expect(c.ratio).toBeCloseTo(0.8, 12);
    expect(c.bins.map((b) => b.count)).toEqual([2, 2, 2]);
    expect(c.bins.map((b) => b.meanPredicted)).toEqual([0.1, 0.2, 0.9]);
    expect(c.bins.map((b) => b.observedRate)).toEqual([0, 0.5, 1]);
    expect(c.ece).toBeCloseTo((0.1 + 0.3 + 0.1) / 3, 12);
  });

  it('keeps tied scores in one bin', () => {
    const c = calibration([1, 0, 0, 1], [0.3, 0.3, 0.3, 0.3], 4);
    expect(c.bins).toHaveLength(1);
    expect(c.bins[0]).toMatchObject({ lower: 0.3, upper: 0.3, count: 4, observedRate: 0.5 });
    expect(c.ece).toBeCloseTo(0.2, 12);
  });

  it('supports equal-width bins on [0, 1]', () => {
    const c = calibration([0, 1, 1, 0], [0.05, 0.15, 0.95, 1.0], 10, 'uniform');
    expect(c.bins.map((b) => b.count)).toEqual([1, 1, 2]);
    expect(c.bins[2]).toMatchObject({ lower: 0.95, upper: 1.0, observedRate: 0.5 });
    expect(c.ece).toBeCloseTo((0.05 + 0.85 + 2 * Math.abs(0.975 - 0.5)) / 4, 12);
  });

  it('is zero ECE when predictions equal the observed rates', () => {
    const c = calibration([0, 0, 0, 1, 1, 1, 1, 0], [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75], 2);
    expect(c.ece).toBeCloseTo(0, 12);
    expect(c.ratio).toBeCloseTo(1, 12);
  });
});
