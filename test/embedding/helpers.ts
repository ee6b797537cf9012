import { expect } from 'vitest';
import { EmbeddingTable } from '../../src/embedding/table.js';
import type { SparseOptimizerConfig } from '../../src/embedding/sparse-optimizer.js';

export const ALL_OPTIMIZERS: SparseOptimizerConfig[] = [
  { type: 'adagrad', lr: 0.1, initialAccumulator: 0.01 },
  { type: 'adam', lr: 0.01 },
  { type: 'ftrl', lr: 0.1, l1: 0.001, l2: 0.01, beta: 1 },
  { type: 'sgd', lr: 0.5 },
];

/** Deterministic pseudo-random floats in [-scale, scale). */
export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export function rowOf(table: EmbeddingTable, id: number): Float32Array {
  const out = new Float32Array(table.dim);
  table.gather(Int32Array.of(id), out, table.dim, 0);
  return out;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-5, abs = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = abs + rel * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}
