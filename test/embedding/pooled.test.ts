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

  // gatherPooled and updatePooled work through blocks of about 256 ids (touch passes first): rows
  // that straddle block edges, a row longer than a block and a bag that starts mid-array must give
  // the same bits as the plain row-by-row float32 computation.
  describe('over many blocks of ids', () => {
    const ROWS = 700;
    const ID_SPACE = 5000;
    /** Row i has (i * 7) % 9 ids (0..8), row 300 has 300; the bag's ids start at offset 5 of the array. */
    function bigBag(weighted: boolean): MultiIds {
      const lengths = Array.from({ length: ROWS }, (_, i) => (i === 300 ? 300 : (i * 7) % 9));
      const total = lengths.reduce((a, b) => a + b, 0);
      const ids = new Int32Array(5 + total);
      const offsets = new Int32Array(ROWS + 1);
      offsets[0] = 5;
      lengths.forEach((n, i) => (offsets[i + 1] = offsets[i]! + n));
      for (let j = 0; j < ids.length; j++) ids[j] = (j * 7919) % (j % 3 === 0 ? 40 : ID_SPACE); // many repeats
      return { ids, offsets, ...(weighted ? { weights: Float32Array.from(randomFloats(ids.length, 5, 1), Math.abs) } : {}) };
    }
    function bigTable(): EmbeddingTable {
      const t = new EmbeddingTable({ name: 'big', rows: ID_SPACE, dim: 4, optimizer: { type: 'adam', lr: 0.01 }, initStd: 0.3 });
      t.update(Int32Array.from({ length: 900 }, (_, i) => i * 3), randomFloats(900 * 4, 2, 0.2), 4, 0); // some rows materialised
      return t;
    }

    for (const weighted of [false, true]) {
      for (const mode of ['sum', 'mean'] as const) {
        it(`gatherPooled ${mode}${weighted ? ' weighted' : ''} equals the row-by-row float32 sum bit for bit`, () => {
          const t = bigTable();
          const m = bigBag(weighted);
          const out = new Float32Array(ROWS * 6).fill(9);
          t.gatherPooled(m, mode, out, 6, 2);
          const acc = new Float32Array(4);
          for (let i = 0; i < ROWS; i++) {
            acc.fill(0);
            let wsum = 0;
            for (let j = m.offsets[i]!; j < m.offsets[i + 1]!; j++) {
              const w = m.weights?.[j] ?? 1;
              wsum += w;
              const r = rowOf(t, m.ids[j]!);
              for (let d = 0; d < 4; d++) acc[d] += w * r[d]!;
            }
            if (mode === 'mean') for (let d = 0; d < 4; d++) acc[d] *= wsum === 0 ? 0 : 1 / wsum;
            expect(Array.from(out.subarray(i * 6 + 2, i * 6 + 6)), `row ${i}`).toEqual(Array.from(acc));
          }
          expect(out[0]).toBe(9);
          expect(out[1]).toBe(9);
        });

        it(`updatePooled ${mode}${weighted ? ' weighted' : ''} equals update with the float32-summed gradients bit for bit`, () => {
          const pooled = bigTable();
          const single = bigTable();
          const m = bigBag(weighted);
          const grad = randomFloats(ROWS * 4, 8, 1);
          pooled.updatePooled(m, mode, grad, 4, 0);
          const sums = new Map<number, Float32Array>();
          for (let i = 0; i < ROWS; i++) {
            let wsum = 0;
            for (let j = m.offsets[i]!; j < m.offsets[i + 1]!; j++) wsum += m.weights?.[j] ?? 1;
            const scale = mode === 'sum' ? 1 : wsum === 0 ? 0 : 1 / wsum;
            if (scale === 0) continue;
            for (let j = m.offsets[i]!; j < m.offsets[i + 1]!; j++) {
              const coef = m.weights === undefined ? scale : scale * m.weights[j]!;
              const id = m.ids[j]!;
              if (!sums.has(id)) sums.set(id, new Float32Array(4));
              const s = sums.get(id)!;
              for (let d = 0; d < 4; d++) s[d] += coef * grad[i * 4 + d]!;
            }
          }
          const ids = [...sums.keys()];
          single.update(Int32Array.from(ids), Float32Array.from(ids.flatMap((id) => Array.from(sums.get(id)!))), 4, 0);
          expect(pooled.allocatedRows()).toBe(single.allocatedRows());
          expect(Buffer.from(pooled.denseWeights().buffer).equals(Buffer.from(single.denseWeights().buffer))).toBe(true);
        });
      }
    }

    it('an id out of range in a later block is refused, naming the table', () => {
      const t = bigTable();
      const m = bigBag(false);
      m.ids[m.offsets[600]!] = ID_SPACE;
      expect(() => t.gatherPooled(m, 'sum', new Float32Array(ROWS * 4), 4, 0)).toThrow(/embedding table 'big': id 5000 outside/);
      expect(() => t.updatePooled(m, 'sum', new Float32Array(ROWS * 4), 4, 0)).toThrow(/embedding table 'big': id 5000 outside/);
    });
  });
});
