import { describe, expect, it } from 'vitest';
import { EmbeddingTable } from '../../src/embedding/table.js';
import { ALL_OPTIMIZERS, randomFloats, rowOf } from './helpers.js';

describe('EmbeddingTable lookups and lazy rows', () => {
  it('gathers the deterministic initial vector of untouched ids without materialising them', () => {
    const t = new EmbeddingTable({ name: 'user', rows: 1000, dim: 8, optimizer: { type: 'sgd', lr: 0.1 }, seed: 7 });
    const ids = Int32Array.of(5, 999, 0, 5);
    const out = new Float32Array(4 * 8);
    t.gather(ids, out, 8, 0);
    expect(t.allocatedRows()).toBe(0);
    expect(Array.from(out.subarray(0, 8))).toEqual(Array.from(out.subarray(24, 32)));
    expect(out.subarray(0, 8).some((v) => v !== 0)).toBe(true);
    expect(Array.from(out.subarray(0, 8))).not.toEqual(Array.from(out.subarray(8, 16)));
  });

  it('gives an id the same initial row whatever the touch order, and denseWeights agrees', () => {
    const a = new EmbeddingTable({ name: 'f', rows: 500, dim: 5, optimizer: { type: 'adagrad', lr: 0.1 }, seed: 3 });
    const b = new EmbeddingTable({ name: 'f', rows: 500, dim: 5, optimizer: { type: 'adagrad', lr: 0.1 }, seed: 3 });
    const zero = new Float32Array(5 * 3);
    a.update(Int32Array.of(1, 2, 3), zero, 5, 0); // zero gradient: adagrad leaves the weights at init
    b.update(Int32Array.of(3, 2, 1), zero, 5, 0);
    expect(a.denseWeights()).toEqual(b.denseWeights());
    const fresh = new EmbeddingTable({ name: 'f', rows: 500, dim: 5, seed: 3 });
    expect(fresh.denseWeights()).toEqual(a.denseWeights());
    expect(Array.from(rowOf(fresh, 2))).toEqual(Array.from(rowOf(a, 2)));
  });

  it('differs between seeds and between table names', () => {
    const base = rowOf(new EmbeddingTable({ name: 'x', rows: 10, dim: 4, seed: 1 }), 3);
    expect(rowOf(new EmbeddingTable({ name: 'x', rows: 10, dim: 4, seed: 2 }), 3)).not.toEqual(base);
    expect(rowOf(new EmbeddingTable({ name: 'y', rows: 10, dim: 4, seed: 1 }), 3)).not.toEqual(base);
  });

  it('initialises with a normal of the requested standard deviation', () => {
    const t = new EmbeddingTable({ name: 'stat', rows: 4000, dim: 9, initStd: 0.05 });
    const w = t.denseWeights();
    let sum = 0;
    let sq = 0;
    for (const v of w) {
      sum += v;
      sq += v * v;
    }
    const mean = sum / w.length;
    const std = Math.sqrt(sq / w.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.048);
    expect(std).toBeLessThan(0.052);
  });

  it('writes into strided, offset outputs (fields side by side), aligned or not', () => {
    const t = new EmbeddingTable({ name: 's', rows: 100, dim: 4, optimizer: { type: 'sgd', lr: 1 } });
    t.update(Int32Array.of(10, 11), randomFloats(8, 1), 4, 0); // some rows materialised, some not
    const ids = Int32Array.of(10, 50, 11);
    const expected = [10, 50, 11].map((id) => Array.from(rowOf(t, id)));
    for (const byteShift of [0, 4]) {
      for (const outOffset of [0, 1, 4, 5]) {
        const buf = new Float32Array(64 + 1);
        const out = new Float32Array(buf.buffer, byteShift, 64);
        out.fill(-7);
        t.gather(ids, out, 12, outOffset);
        for (let i = 0; i < 3; i++) {
          expect(Array.from(out.subarray(outOffset + i * 12, outOffset + i * 12 + 4))).toEqual(expected[i]);
        }
        // nothing else was written
        const written = new Set<number>();
        for (let i = 0; i < 3; i++) for (let d = 0; d < 4; d++) written.add(outOffset + i * 12 + d);
        out.forEach((v, k) => {
          if (!written.has(k)) expect(v).toBe(-7);
        });
      }
    }
  });

  it('keeps rows correct while storage grows past its first chunk', () => {
    const t = new EmbeddingTable({ name: 'grow', rows: 5000, dim: 3, optimizer: { type: 'sgd', lr: 1 } });
    const ids = new Int32Array(3000).map((_, i) => (i * 7) % 5000);
    const grad = new Float32Array(3000 * 3).fill(1);
    const before = t.denseWeights();
    t.update(ids, grad, 3, 0);
    expect(t.allocatedRows()).toBe(3000);
    const after = t.denseWeights();
    const touched = new Set(ids);
    for (let id = 0; id < 5000; id++) {
      for (let d = 0; d < 3; d++) {
        const k = id * 3 + d;
        expect(after[k]).toBe(touched.has(id) ? Math.fround(before[k] - 1) : before[k]);
      }
    }
  });

  it('rejects ids outside the id space and outputs that are too short', () => {
    const t = new EmbeddingTable({ name: 'bad', rows: 10, dim: 2 });
    expect(() => t.gather(Int32Array.of(10), new Float32Array(2), 2, 0)).toThrow(/outside 0\.\.9/);
    expect(() => t.gather(Int32Array.of(-1), new Float32Array(2), 2, 0)).toThrow(RangeError);
    expect(() => t.update(Int32Array.of(3, 4), new Float32Array(3), 2, 0)).toThrow(/too short/);
    expect(() => t.gather(Int32Array.of(1), new Float32Array(4), 1, 0)).toThrow(/stride/);
    expect(() => new EmbeddingTable({ name: 'z', rows: 0, dim: 2 })).toThrow(/rows/);
    expect(() => new EmbeddingTable({ name: 'z', rows: 5, dim: 2, optimizer: { type: 'adam', lr: 0.1, beta1: 1 } })).toThrow(/beta1/);
  });

  for (const optimizer of ALL_OPTIMIZERS) {
    it(`${optimizer.type}: an update changes only the batch's rows (weights and optimizer state)`, () => {
      const t = new EmbeddingTable({ name: 'only', rows: 300, dim: 6, optimizer, l2: 0.01 });
      // Warm some rows so that untouched-but-materialised rows exist with non-trivial state.
      t.update(Int32Array.of(1, 2, 3, 4, 5, 100, 200), randomFloats(7 * 6, 11, 0.5), 6, 0);
      const weightsBefore = t.denseWeights();
      const savedBefore = t.save();
      const batch = Int32Array.of(2, 250, 2, 100);
      t.update(batch, randomFloats(4 * 6, 12, 0.5), 6, 0);
      const weightsAfter = t.denseWeights();
      const savedAfter = t.save();
      const touched = new Set(batch);
      for (let id = 0; id < 300; id++) {
        const before = weightsBefore.subarray(id * 6, id * 6 + 6);
        const after = weightsAfter.subarray(id * 6, id * 6 + 6);
        if (touched.has(id)) expect(after).not.toEqual(before);
        else expect(after).toEqual(before);
      }
      // State of untouched materialised rows: rows keep their order, so compare row by row.
      const stateWords = savedBefore.meta.stateWords as number;
      const idsBefore = new Int32Array(savedBefore.buffers.ids.slice().buffer);
      const stateBefore = new Int32Array(savedBefore.buffers.state.slice().buffer);
      const stateAfter = new Int32Array(savedAfter.buffers.state.slice().buffer);
      idsBefore.forEach((id, row) => {
        const a = stateAfter.subarray(row * stateWords, (row + 1) * stateWords);
        const b = stateBefore.subarray(row * stateWords, (row + 1) * stateWords);
        if (touched.has(id) && optimizer.type !== 'sgd') expect(a).not.toEqual(b);
        else expect(a).toEqual(b);
      });
      expect(t.allocatedRows()).toBe(8); // 250 was new
    });
  }

  it('byteSize counts the id map and grows with materialised rows', () => {
    const t = new EmbeddingTable({ name: 'bytes', rows: 100_000, dim: 8 });
    const empty = t.byteSize();
    // two int32 words per id (row + 1, slot) and nothing else of note
    expect(empty).toBeGreaterThanOrEqual(100_000 * 8);
    expect(empty).toBeLessThan(100_000 * 8 + 4096);
    t.update(Int32Array.of(1), new Float32Array(8), 8, 0);
    expect(t.byteSize()).toBeGreaterThan(empty + 1024 * 8 * 4);
  });
});
