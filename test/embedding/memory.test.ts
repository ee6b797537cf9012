import { describe, expect, it } from 'vitest';
import { EmbeddingTable } from '../../src/embedding/table.js';

describe('memory', () => {
  it('a 2M x 18 row-wise Adagrad table with every row touched stays within 1.5x its raw weight bytes', () => {
    const rows = 2_000_000;
    const dim = 18;
    const t = new EmbeddingTable({ name: 'big', rows, dim, optimizer: { type: 'adagrad', lr: 0.05 } });
    const chunk = 1 << 17;
    const ids = new Int32Array(chunk);
    const grad = new Float32Array(chunk * dim).fill(1e-3);
    for (let start = 0; start < rows; start += chunk) {
      const n = Math.min(chunk, rows - start);
      for (let i = 0; i < n; i++) ids[i] = start + i;
      t.update(ids.subarray(0, n), grad, dim, 0);
    }
    expect(t.allocatedRows()).toBe(rows);
    const raw = rows * dim * 4;
    expect(t.byteSize() / raw).toBeLessThanOrEqual(1.5);
    // ...and the figure is real: every row moved off its initial value.
    const probe = new Float32Array(dim);
    t.gather(Int32Array.of(rows - 1), probe, dim, 0);
    const init = new EmbeddingTable({ name: 'big', rows, dim });
    const initRow = new Float32Array(dim);
    init.gather(Int32Array.of(rows - 1), initRow, dim, 0);
    expect(probe).not.toEqual(initRow);
  });
});
