import { describe, expect, it } from 'vitest';
import { auc } from '../../src/metrics/auc.js';
import { rocCurve } from '../../src/metrics/roc.js';
import { keptIndices, subset, subsetGroups } from '../../src/metrics/subset.js';

function trapezoid(x: Float64Array, y: Float64Array): number {
  let a = 0;
  for (let i = 1; i < x.length; i++) a += ((x[i]! - x[i - 1]!) * (y[i]! + y[i - 1]!)) / 2;
  return a;
}

describe('rocCurve', () => {
  it('has one point per distinct score, from (0,0) to (1,1)', () => {
    const r = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(Array.from(r.fpr)).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(Array.from(r.tpr)).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(Array.from(r.thresholds)).toEqual([Number.POSITIVE_INFINITY, 0.8, 0.4, 0.35, 0.1]);
  });

  it('has area equal to the AUC, ties included, and thins to maxPoints keeping the ends', () => {
    const labels: number[] = [];
    const scores: number[] = [];
    for (let i = 0; i < 3000; i++) {
      labels.push(i % 3 === 0 ? 1 : 0);
      scores.push(((i * 7919) % 1000) / 1000 + (i % 3 === 0 ? 0.2 : 0));
    }
    const full = rocCurve(labels, scores, 100000);
    expect(trapezoid(full.fpr, full.tpr)).toBeCloseTo(auc(labels, scores), 12);
    const thin = rocCurve(labels, scores, 50);
    expect(thin.fpr.length).toBe(50);
    expect([thin.fpr[0], thin.tpr[0], thin.fpr[49], thin.tpr[49]]).toEqual([0, 0, 1, 1]);
  });
});

describe('subset', () => {
  it('keeps the rows where the mask is non-zero', () => {
    const click = Uint8Array.from([1, 0, 1, 1, 0]);
    expect(Array.from(keptIndices(5, click))).toEqual([0, 2, 3]);
    expect(Array.from(subset(Float32Array.from([0.5, 0.25, 0.75, 1, 0]), click))).toEqual([0.5, 0.75, 1]);
    expect(Array.from(subsetGroups(Int32Array.from([9, 8, 7, 6, 5]), click))).toEqual([9, 7, 6]);
    expect(() => subset([1, 2], [1])).toThrow(/mask/);
  });
});
