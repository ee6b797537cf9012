import { describe, expect, it } from 'vitest';
import { EmbeddingTable } from '../../src/embedding/table.js';
import type { SavedEmbeddingTable } from '../../src/embedding/table.js';
import { ALL_OPTIMIZERS, randomFloats } from './helpers.js';

function train(t: EmbeddingTable, steps: number, seed: number): void {
  for (let s = 0; s < steps; s++) {
    const ids = new Int32Array(40).map((_, i) => (Math.imul(i + 1, seed + s * 7919) >>> 0) % 2000);
    t.update(ids, randomFloats(40 * t.dim, seed + s, 0.3), t.dim, 0);
  }
}

/** Round trip through JSON and fresh, unaligned byte buffers, as a checkpoint file would. */
function throughFile(saved: SavedEmbeddingTable): SavedEmbeddingTable {
  const buffers: Record<string, Uint8Array> = {};
  for (const [k, b] of Object.entries(saved.buffers)) {
    const padded = new Uint8Array(b.byteLength + 1);
    padded.set(b, 1);
    buffers[k] = padded.subarray(1);
  }
  return { meta: JSON.parse(JSON.stringify(saved.meta)) as Record<string, unknown>, buffers };
}

describe('save / load', () => {
  for (const optimizer of ALL_OPTIMIZERS) {
    it(`${optimizer.type}: weights and optimizer state survive; training goes on identically`, () => {
      const original = new EmbeddingTable({ name: 'ckpt', rows: 2000, dim: 6, optimizer, seed: 9, l2: 1e-3, initStd: 0.05 });
      train(original, 5, 1);
      const loaded = EmbeddingTable.load(throughFile(original.save()));
      expect(loaded.name).toBe('ckpt');
      expect(loaded.allocatedRows()).toBe(original.allocatedRows());
      expect(loaded.denseWeights()).toEqual(original.denseWeights());
      train(original, 4, 50);
      train(loaded, 4, 50);
      expect(loaded.denseWeights()).toEqual(original.denseWeights());
      const a = original.save();
      const b = loaded.save();
      expect(b.meta).toEqual(a.meta);
      for (const key of Object.keys(a.buffers)) expect(b.buffers[key]).toEqual(a.buffers[key]);
    });
  }

  it('a loaded table that lost its optimizer state would train differently (so the test above can fail)', () => {
    const cfg = { type: 'adam', lr: 0.01 } as const;
    const original = new EmbeddingTable({ name: 'ckpt', rows: 2000, dim: 6, optimizer: cfg });
    train(original, 5, 1);
    const saved = original.save();
    const stateless = EmbeddingTable.load({ ...saved, buffers: { ...saved.buffers, state: new Uint8Array(saved.buffers.state.byteLength) } });
    train(original, 2, 50);
    train(stateless, 2, 50);
    expect(stateless.denseWeights()).not.toEqual(original.denseWeights());
  });

  it('refuses truncated buffers and foreign metadata', () => {
    const t = new EmbeddingTable({ name: 'x', rows: 100, dim: 2 });
    t.update(Int32Array.of(1, 2), new Float32Array(4), 2, 0);
    const saved = t.save();
    expect(() => EmbeddingTable.load({ ...saved, buffers: { ...saved.buffers, weights: saved.buffers.weights.subarray(4) } })).toThrow(/bytes/);
    expect(() => EmbeddingTable.load({ ...saved, meta: { ...saved.meta, format: 'other' } })).toThrow(/format/);
    expect(() => EmbeddingTable.load({ ...saved, buffers: { ...saved.buffers, ids: new Uint8Array(8) } })).toThrow(/repeated/);
  });
});
