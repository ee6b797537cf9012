import { describe, expect, it } from 'vitest';
import type { MultiIds } from '../../src/data/batch.js';
import { EmbeddingTable } from '../../src/embedding/table.js';
import { expectClose, randomFloats, rowOf } from './helpers.js';

const DIM = 3;
// Rows: [1, 2, 2], [3], [], [4, 1]
const BAG: MultiIds = { ids: Int32Array.of(1, 2, 2, 3, 4, 1), offsets: Int32Array.of(0, 3, 4, 4, 6) };
const WEIGHTED: MultiIds = { ...BAG, weights: Float32Array.of(0.5, 2, 1, 3, 0.25, 0.75) };

function table(optimizer: { type: 'sgd' | 'adagrad'; lr: number } = { type: 'sgd', lr: 0.5 }): EmbeddingTable {
  const t = new EmbeddingTable({ name: 'bag', rows: 10, dim: DIM, optimizer, initStd: 0.3 });
  t.update(Int32Array.of(1, 3), randomFloats(2 * DIM, 9, 0.2), DIM, 0); // rows 1, 3 materialised; 2, 4 not
  return t;
}

/** Expected pooled output, computed row by row from single lookups. */
function expectedPooled(t: EmbeddingTable, m: MultiIds, mode: 'sum' | 'mean'): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + 1 < m.offsets.length; i++) {
    const acc = new Array<number>(DIM).fill(0);
    let wsum = 0;
    for (let j = m.offsets[i]; j < m.offsets[i + 1]; j++) {
      const w = m.weights?.[j] ?? 1;
      wsum += w;
      rowOf(t, m.ids[j]).forEach((v, d) => (acc[d] += w * v));
    }
    out.push(mode === 'mean' && wsum !== 0 ? acc.map((v) => v / wsum) : acc);
  }
  return out;
}

describe('pooled multi-valued lookups', () => {
  for (const m of [BAG, WEIGHTED]) {
    for (const mode of ['sum', 'mean'] as const) {
      it(`gatherPooled ${mode}${m.weights ? ' weighted' : ''} sums (or averages) the rows, empty rows give zeros`, () => {
        const t = table();
        const out = new Float32Array(4 * 5).fill(9);
        t.gatherPooled(m, mode, out, 5, 1);
        const expected = expectedPooled(t, m, mode);
        for (let i = 0; i < 4; i++) expectClose(out.subarray(1 + i * 5, 1 + i * 5 + DIM), expected[i], 1e-6);
        expect(Array.from(out.subarray(1 + 2 * 5, 1 + 2 * 5 + DIM))).toEqual([0, 0, 0]);
        expect(out[0]).toBe(9);
        expect(t.allocatedRows()).toBe(2);
      });

      it(`updatePooled ${mode}${m.weights ? ' weighted' : ''} scatters the pooled gradient, duplicates summed`, () => {
        const t = table();
        const before = new Map([1, 2, 3, 4, 5].map((id) => [id, rowOf(t, id)]));
        const grad = randomFloats(4 * DIM, 21, 1);
        t.updatePooled(m, mode, grad, DIM, 0);
        // d out_i / d row(id_j) = coef_j: w_j (sum) or w_j / sum_w (mean).
        const expectedGrad = new Map<number, number[]>();
        for (let i = 0; i < 4; i++) {
          let wsum = 0;
          for (let j = m.offsets[i]; j < m.offsets[i + 1]; j++) wsum += m.weights?.[j] ?? 1;
          for (let j = m.offsets[i]; j < m.offsets[i + 1]; j++) {
            const coef = (m.weights?.[j] ?? 1) / (mode === 'mean' ? wsum : 1);
            const g = expectedGrad.get(m.ids[j]) ?? new Array<number>(DIM).fill(0);
            for (let d = 0; d < DIM; d++) g[d] += coef * grad[i * DIM + d];
            expectedGrad.set(m.ids[j], g);
          }
        }
        for (const [id, w0] of before) {
          const g = expectedGrad.get(id);
          const expected = g === undefined ? Array.from(w0) : Array.from(w0, (v, d) => v - 0.5 * g[d]);
          expectClose(rowOf(t, id), expected, 1e-5, 1e-7);
        }
        expect(t.allocatedRows()).toBe(4);
      });
    }
  }

  it('updatePooled gives one optimizer step per id, like update with the summed gradient', () => {
    const pooled = table({ type: 'adagrad', lr: 0.1 });
    const single = table({ type: 'adagrad', lr: 0.1 });
    const grad = randomFloats(4 * DIM, 3, 1);
    pooled.updatePooled(BAG, 'sum', grad, DIM, 0);
    // id 1: rows 0 and 3; id 2: row 0 twice; id 3: row 1; id 4: row 3.
    const g = (i: number): number[] => Array.from(grad.subarray(i * DIM, i * DIM + DIM));
    const sums = [
      g(0).map((v, d) => v + g(3)[d]),
      g(0).map((v) => 2 * v),
      g(1),
      g(3),
    ];
    single.update(Int32Array.of(1, 2, 3, 4), Float32Array.from(sums.flat()), DIM, 0);
    for (const id of [1, 2, 3, 4]) expectClose(rowOf(pooled, id), rowOf(single, id), 1e-6);
  });

  it('rejects offsets that do not rise within the ids', () => {
    const t = table();
    const bad: MultiIds = { ids: Int32Array.of(1, 2), offsets: Int32Array.of(0, 2, 1) };
    expect(() => t.gatherPooled(bad, 'sum', new Float32Array(6), DIM, 0)).toThrow(/offsets/);
    expect(() => t.updatePooled(bad, 'sum', new Float32Array(6), DIM, 0)).toThrow(/offsets/);
  });
});
