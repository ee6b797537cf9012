import { describe, expect, it } from 'vitest';
import { EmbeddingTable } from '../../src/embedding/table.js';
import type { SparseOptimizerConfig } from '../../src/embedding/sparse-optimizer.js';
import { expectClose, randomFloats, rowOf } from './helpers.js';

const DIM = 4;

/** Hand-written reference steps on float64 copies of one row. */
type RefStep = (w: number[], g: number[], state: Record<string, number[]>) => void;

function adagradRef(lr: number, init: number, eps: number): RefStep {
  return (w, g, s) => {
    s.acc ??= [init];
    s.acc[0] += g.reduce((a, x) => a + x * x, 0) / g.length;
    for (let d = 0; d < w.length; d++) w[d] -= (lr * g[d]) / (Math.sqrt(s.acc[0]) + eps);
  };
}

function adamRef(lr: number, b1: number, b2: number, eps: number): RefStep {
  return (w, g, s) => {
    s.m ??= w.map(() => 0);
    s.v ??= w.map(() => 0);
    s.t ??= [0];
    const t = ++s.t[0];
    for (let d = 0; d < w.length; d++) {
      s.m[d] = b1 * s.m[d] + (1 - b1) * g[d];
      s.v[d] = b2 * s.v[d] + (1 - b2) * g[d] * g[d];
      const mHat = s.m[d] / (1 - b1 ** t);
      const vHat = s.v[d] / (1 - b2 ** t);
      w[d] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  };
}

/** McMahan et al. 2013, Algorithm 1, with z started so that (l1 aside) w starts at its random init. */
function ftrlRef(alpha: number, beta: number, l1: number, l2: number): RefStep {
  return (w, g, s) => {
    s.n ??= w.map(() => 0);
    s.z ??= w.map((w0) => -w0 * (beta / alpha + l2));
    for (let d = 0; d < w.length; d++) {
      const sigma = (Math.sqrt(s.n[d] + g[d] * g[d]) - Math.sqrt(s.n[d])) / alpha;
      s.z[d] += g[d] - sigma * w[d];
      s.n[d] += g[d] * g[d];
      w[d] = Math.abs(s.z[d]) <= l1 ? 0 : -(s.z[d] - Math.sign(s.z[d]) * l1) / ((beta + Math.sqrt(s.n[d])) / alpha + l2);
    }
  };
}

function sgdRef(lr: number): RefStep {
  return (w, g) => {
    for (let d = 0; d < w.length; d++) w[d] -= lr * g[d];
  };
}

const CASES: Array<{ cfg: SparseOptimizerConfig; ref: RefStep }> = [
  { cfg: { type: 'adagrad', lr: 0.1, initialAccumulator: 0.1, eps: 1e-6 }, ref: adagradRef(0.1, 0.1, 1e-6) },
  { cfg: { type: 'adagrad', lr: 0.05 }, ref: adagradRef(0.05, 0, 1e-8) },
  { cfg: { type: 'adam', lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-7 }, ref: adamRef(0.01, 0.8, 0.99, 1e-7) },
  { cfg: { type: 'ftrl', lr: 0.2, beta: 0.5, l1: 0.01, l2: 0.1 }, ref: ftrlRef(0.2, 0.5, 0.01, 0.1) },
  { cfg: { type: 'ftrl', lr: 0.2 }, ref: ftrlRef(0.2, 1, 0, 0) },
  { cfg: { type: 'sgd', lr: 0.3 }, ref: sgdRef(0.3) },
];

describe('sparse optimizers against hand-written reference steps', () => {
  for (const { cfg, ref } of CASES) {
    it(`${JSON.stringify(cfg)}: 4 steps with duplicate ids summed, one step per row`, () => {
      const table = new EmbeddingTable({ name: 'ref', rows: 50, dim: DIM, optimizer: cfg, initStd: 0.1, seed: 5 });
      const tracked = [7, 9, 31];
      const refRows = new Map(tracked.map((id) => [id, Array.from(rowOf(table, id))]));
      const refState = new Map(tracked.map((id) => [id, {} as Record<string, number[]>]));
      // Each step: id 7 appears twice or three times, 9 once, 31 only in some steps.
      const batches = [
        Int32Array.of(7, 9, 7),
        Int32Array.of(9, 31, 7, 7, 7),
        Int32Array.of(7, 9),
        Int32Array.of(31, 7, 31, 9),
      ];
      batches.forEach((ids, step) => {
        const grad = randomFloats(ids.length * DIM, 100 + step, 0.3);
        table.update(ids, grad, DIM, 0);
        for (const id of tracked) {
          const summed = new Array<number>(DIM).fill(0);
          let seen = false;
          ids.forEach((x, i) => {
            if (x !== id) return;
            seen = true;
            for (let d = 0; d < DIM; d++) summed[d] += grad[i * DIM + d];
          });
          if (seen) ref(refRows.get(id)!, summed, refState.get(id)!);
        }
        for (const id of tracked) expectClose(rowOf(table, id), refRows.get(id)!, 2e-5, 1e-7);
      });
    });
  }

  it('summing duplicates first differs from stepping twice (so the test above can fail)', () => {
    const cfg: SparseOptimizerConfig = { type: 'adagrad', lr: 0.1 };
    const once = new EmbeddingTable({ name: 'd', rows: 5, dim: 2, optimizer: cfg });
    const twice = new EmbeddingTable({ name: 'd', rows: 5, dim: 2, optimizer: cfg });
    const g = Float32Array.of(0.5, -0.25);
    once.update(Int32Array.of(1, 1), Float32Array.of(0.5, -0.25, 0.5, -0.25), 2, 0);
    twice.update(Int32Array.of(1), g, 2, 0);
    twice.update(Int32Array.of(1), g, 2, 0);
    expect(rowOf(once, 1)).not.toEqual(rowOf(twice, 1));
    // Hand computation: G = 2g, acc = mean(G^2) = (1 + 0.25) / 2, w -= 0.1 * G / sqrt(acc).
    const w0 = rowOf(new EmbeddingTable({ name: 'd', rows: 5, dim: 2 }), 1);
    const acc = (1 + 0.25) / 2;
    expectClose(rowOf(once, 1), [w0[0] - (0.1 * 1) / Math.sqrt(acc), w0[1] + (0.1 * 0.5) / Math.sqrt(acc)], 1e-6);
  });

  it('applies table l2 to the summed gradient of touched rows only', () => {
    const t = new EmbeddingTable({ name: 'l2', rows: 10, dim: 3, optimizer: { type: 'sgd', lr: 0.5 }, l2: 0.2, initStd: 1 });
    const w0 = rowOf(t, 4);
    const other = rowOf(t, 5);
    t.update(Int32Array.of(4, 4), Float32Array.of(1, 0, 0, 1, 0, 0), 3, 0);
    expectClose(rowOf(t, 4), [w0[0] - 0.5 * (2 + 0.2 * w0[0]), w0[1] - 0.5 * 0.2 * w0[1], w0[2] - 0.5 * 0.2 * w0[2]], 1e-6);
    expect(rowOf(t, 5)).toEqual(other);
  });

  it('setLearningRate changes the step size', () => {
    const t = new EmbeddingTable({ name: 'lr', rows: 10, dim: 1, optimizer: { type: 'sgd', lr: 1 } });
    const w0 = rowOf(t, 2)[0];
    t.setLearningRate(0.25);
    t.update(Int32Array.of(2), Float32Array.of(2), 1, 0);
    expect(rowOf(t, 2)[0]).toBeCloseTo(w0 - 0.5, 6);
    expect(t.optimizerConfig.lr).toBe(0.25);
    expect(() => t.setLearningRate(-1)).toThrow();
  });

  it('FTRL without l1 keeps the random init until a gradient moves it; a large l1 zeroes weights', () => {
    const keep = new EmbeddingTable({ name: 'ftrl', rows: 4, dim: 3, optimizer: { type: 'ftrl', lr: 0.1, l2: 0.5 } });
    const w0 = rowOf(keep, 1);
    keep.update(Int32Array.of(1), new Float32Array(3), 3, 0);
    expectClose(rowOf(keep, 1), w0, 1e-6);
    const t = new EmbeddingTable({ name: 'ftrl', rows: 4, dim: 3, optimizer: { type: 'ftrl', lr: 0.1, l1: 100 } });
    t.update(Int32Array.of(1), Float32Array.of(0.1, -0.1, 0.05), 3, 0);
    expect(Array.from(rowOf(t, 1))).toEqual([0, 0, 0]);
  });
});
