/**
 * L2 on touched embedding rows (train.embedding_l2), under every sparse optimizer: rows a batch
 * does not touch stay bit-identical, and the decay equals a hand computation (the optimizer's own
 * step on g + l2 * w, with l2 / n for the frequency-aware variant, n the row's occurrences so far).
 */
import { describe, expect, it } from 'vitest';
import { EmbeddingTable } from '../../src/embedding/table.js';
import { loadConfig } from '../../src/api/load-config.js';
import { ALL_OPTIMIZERS, expectClose, randomFloats, rowOf } from './helpers.js';

const DIM = 3;

describe('embedding L2 on touched rows', () => {
  it.each(ALL_OPTIMIZERS.map((o) => [o.type, o] as const))('%s: untouched rows stay bit-identical, touched rows decay as by hand', (_t, optimizer) => {
    const withL2 = new EmbeddingTable({ name: 'e', rows: 50, dim: DIM, optimizer, l2: 0.3, initStd: 0.5, seed: 4 });
    const plain = new EmbeddingTable({ name: 'e', rows: 50, dim: DIM, optimizer, initStd: 0.5, seed: 4 });
    // Materialise rows 10 and 11 first, so "untouched" below means "materialised, not in this batch".
    const warm = randomFloats(2 * DIM, 1, 0.1);
    withL2.update(Int32Array.of(10, 11), warm, DIM, 0);
    const before = [10, 11, 12].map((id) => Uint32Array.from(new Uint32Array(rowOf(withL2, id).buffer)));
    const w0 = rowOf(withL2, 7);
    const g = randomFloats(DIM, 2, 0.2);
    withL2.update(Int32Array.of(7), g, DIM, 0);
    // Hand computation: the same optimizer on g + l2 * w0, without the table's L2.
    plain.update(Int32Array.of(7), Float32Array.from(g, (x, d) => x + 0.3 * w0[d]!), DIM, 0);
    expectClose(rowOf(withL2, 7), rowOf(plain, 7), 1e-5);
    expect(Array.from(rowOf(withL2, 7))).not.toEqual(Array.from(w0));
    [10, 11, 12].forEach((id, k) => expect(Array.from(new Uint32Array(rowOf(withL2, id).buffer))).toEqual(Array.from(before[k]!)));
  });

  it('sgd: a hand-computed decay of an untouched-gradient row, plain and frequency-aware', () => {
    const lr = 0.5;
    const l2 = 0.2;
    const plain = new EmbeddingTable({ name: 'f', rows: 10, dim: 2, optimizer: { type: 'sgd', lr }, l2, initStd: 1 });
    const freq = new EmbeddingTable({ name: 'f', rows: 10, dim: 2, optimizer: { type: 'sgd', lr }, l2, l2Frequency: true, initStd: 1 });
    const w0 = Array.from(rowOf(plain, 3));
    const zero = new Float32Array(3 * 2);
    // Step 1: id 3 occurs three times (n = 3), step 2 once more (n = 4); its gradient is zero.
    plain.update(Int32Array.of(3, 3, 3), zero, 2, 0);
    freq.update(Int32Array.of(3, 3, 3), zero, 2, 0);
    plain.update(Int32Array.of(3), zero.subarray(0, 2), 2, 0);
    freq.update(Int32Array.of(3), zero.subarray(0, 2), 2, 0);
    expectClose(rowOf(plain, 3), w0.map((w) => w * (1 - lr * l2) * (1 - lr * l2)), 1e-6);
    expectClose(rowOf(freq, 3), w0.map((w) => w * (1 - (lr * l2) / 3) * (1 - (lr * l2) / 4)), 1e-6);
  });

  it('frequency counts survive save and load', () => {
    const t = new EmbeddingTable({ name: 's', rows: 10, dim: 2, optimizer: { type: 'sgd', lr: 0.5 }, l2: 0.2, l2Frequency: true, initStd: 1 });
    t.update(Int32Array.of(1, 1), new Float32Array(4), 2, 0);
    const copy = EmbeddingTable.load(t.save());
    t.update(Int32Array.of(1), new Float32Array(2), 2, 0);
    copy.update(Int32Array.of(1), new Float32Array(2), 2, 0);
    expect(Array.from(rowOf(copy, 1))).toEqual(Array.from(rowOf(t, 1)));
  });

  it('is configured by train.embedding_l2 and train.embedding_l2_frequency', () => {
    const c = loadConfig('esmm', { train: { embedding_l2: 1e-4, embedding_l2_frequency: true } });
    expect([c.train.embedding_l2, c.train.embedding_l2_frequency]).toEqual([1e-4, true]);
    expect(loadConfig('esmm').train.embedding_l2).toBe(0);
    expect(() => loadConfig('esmm', { train: { embedding_l2: -1 } })).toThrow(/train.embedding_l2/);
  });
});
