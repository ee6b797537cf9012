import { describe, expect, it } from 'vitest';
import { logloss } from '../../src/metrics/logloss.js';

describe('logloss', () => {
  it('is the mean binary cross-entropy', () => {
    expect(logloss([1, 0], [0.8, 0.3])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(logloss(Uint8Array.from([1, 1, 0]), Float32Array.from([0.5, 0.5, 0.5]))).toBeCloseTo(Math.log(2), 7);
  });

  it('clips scores to [eps, 1 - eps]', () => {
    expect(logloss([1], [0])).toBeCloseTo(-Math.log(1e-7), 9);
    expect(logloss([0], [1], 1e-3)).toBeCloseTo(-Math.log(1e-3), 12);
    expect(Number.isFinite(logloss([1, 0], [0, 1]))).toBe(true);
  });

  it('accepts soft labels and rejects labels outside [0, 1] and NaN scores', () => {
    expect(logloss([0.5], [0.5])).toBeCloseTo(Math.log(2), 12);
    expect(() => logloss([2], [0.5])).toThrow(/label at index 0/);
    expect(() => logloss([1], [Number.NaN])).toThrow(/NaN/);
  });
});
