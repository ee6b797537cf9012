import { describe, expect, it } from 'vitest';
import { gauc } from '../../src/metrics/gauc.js';

describe('gauc', () => {
  it('weights per-group AUC by impressions and skips single-class groups', () => {
    // group 1000: y [1,0,0] s [.9,.1,.5] -> AUC 1 (3 rows)
    // group -5:   y [1,0,1,0] s [.2,.8,.6,.4] -> pairs: .2<.8, .2<.4, .6<.8, .6>.4 -> 1/4 (4 rows)
    // group 7: all negative; group 42: one positive row -> excluded
    const rows: Array<[number, number, number]> = [
      [1000, 1, 0.9],
      [-5, 1, 0.2],
      [7, 0, 0.3],
      [1000, 0, 0.1],
      [-5, 0, 0.8],
      [42, 1, 0.7],
      [-5, 1, 0.6],
      [7, 0, 0.9],
      [1000, 0, 0.5],
      [-5, 0, 0.4],
    ];
    const groups = Int32Array.from(rows, (r) => r[0]);
    const labels = Uint8Array.from(rows, (r) => r[1]);
    const scores = Float32Array.from(rows, (r) => r[2]);
    const r = gauc(labels, scores, groups);
    expect(r.groups).toBe(2);
    expect(r.gauc).toBeCloseTo((3 * 1 + 4 * 0.25) / 7, 7);
  });

  it('counts ties inside a group as half', () => {
    const r = gauc([1, 0, 1, 0], [0.5, 0.5, 0.7, 0.1], Int32Array.from([0, 0, 1, 1]));
    expect(r).toEqual({ gauc: (2 * 0.5 + 2 * 1) / 4, groups: 2 });
  });

  it('is NaN with zero groups when no group has both classes', () => {
    const r = gauc([1, 0], [0.5, 0.4], Int32Array.from([1, 2]));
    expect(r.groups).toBe(0);
    expect(r.gauc).toBeNaN();
  });

  it('rejects a group array of the wrong length', () => {
    expect(() => gauc([1, 0], [0.5, 0.4], Int32Array.from([1]))).toThrow(/group ids/);
  });
});
