/**
 * SharedEmbeddingTable (row-sharded, in SharedArrayBuffers) behaves as EmbeddingTable: the same
 * gathers and updates bit for bit (row sums in batch order, one optimizer step per row), growth
 * past the first capacity, the same save format both ways, and owners that each update only
 * their shard adding up to the whole update.
 */
import { describe, expect, it } from 'vitest';
import type { MultiIds } from '../../src/data/batch.js';
import { SharedEmbeddingTable } from '../../src/embedding/shared/shared-table.js';
import { EmbeddingTable, type EmbeddingTableOptions } from '../../src/embedding/table.js';
import type { EmbeddingStore } from '../../src/embedding/embedding-store.js';
import { readTables, writeTables } from '../../src/models/table-files.js';
import { Rng } from '../../src/util/random.js';

const DIM = 6;
const opts: EmbeddingTableOptions = { name: 'g/f', rows: 5000, dim: DIM, optimizer: { type: 'adam', lr: 0.01 }, seed: 4, l2: 0.01, l2Frequency: true };

/** A deterministic stream of batches: single ids (skewed, so duplicates) and pooled multi-ids with weights. */
function batches(count: number, n: number, spread: number): { ids: Int32Array; grad: Float32Array; multi: MultiIds; mgrad: Float32Array }[] {
  const rng = new Rng(11);
  return Array.from({ length: count }, () => {
    const ids = Int32Array.from({ length: n }, () => Math.floor(spread * rng.next() ** 2));
    const grad = Float32Array.from({ length: n * DIM }, () => rng.normal());
    const offsets = new Int32Array(n + 1);
    const multiIds: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = rng.int(4);
      for (let j = 0; j < k; j++) multiIds.push(Math.floor(spread * rng.next() ** 3));
      offsets[i + 1] = multiIds.length;
    }
    const weights = Float32Array.from(multiIds, () => 0.5 + rng.next());
    return { ids, grad, multi: { ids: Int32Array.from(multiIds), offsets, weights }, mgrad: Float32Array.from({ length: n * DIM }, () => rng.normal()) };
  });
}

function train(t: EmbeddingStore, bs: ReturnType<typeof batches>): void {
  for (const b of bs) {
    t.update(b.ids, b.grad, DIM, 0);
    t.updatePooled(b.multi, 'mean', b.mgrad, DIM, 0);
  }
}

function gatherAll(t: EmbeddingStore, probe: Int32Array): Float32Array {
  const out = new Float32Array(probe.length * DIM);
  t.gather(probe, out, DIM, 0);
  return out;
}

const probe = Int32Array.from({ length: 5000 }, (_, i) => i);

describe('SharedEmbeddingTable', () => {
  it.each([1, 2, 3])('%i shards: updates, pooled updates and gathers are bit-identical to EmbeddingTable (growing past the first capacity)', (shards) => {
    const bs = batches(6, 700, 4200); // > 1024 rows per shard are materialised: the shards grow
    const ref = new EmbeddingTable(opts);
    const shared = SharedEmbeddingTable.create(opts, shards);
    train(ref, bs);
    train(shared, bs);
    expect(shared.allocatedRows()).toBe(ref.allocatedRows());
    expect(shared.allocatedRows()).toBeGreaterThan(1024 * shards);
    expect(Array.from(gatherAll(shared, probe))).toEqual(Array.from(gatherAll(ref, probe)));
    const pooledRef = new Float32Array(700 * DIM);
    const pooledShared = new Float32Array(700 * DIM);
    ref.gatherPooled(bs[0]!.multi, 'mean', pooledRef, DIM, 0);
    shared.gatherPooled(bs[0]!.multi, 'mean', pooledShared, DIM, 0);
    expect(Array.from(pooledShared)).toEqual(Array.from(pooledRef));
    expect(Array.from(shared.denseWeights())).toEqual(Array.from(ref.denseWeights()));
  });

  it('owners that each update only their shard add up to the whole update', () => {
    const bs = batches(4, 500, 3000);
    const whole = SharedEmbeddingTable.create(opts, 3);
    train(whole, bs);
    const main = SharedEmbeddingTable.create(opts, 3);
    const owners = [0, 1, 2].map((k) => SharedEmbeddingTable.attach(main.handle(), k));
    for (const b of bs) {
      for (const o of owners) o.update(b.ids, b.grad, DIM, 0);
      for (const o of owners) o.updatePooled(b.multi, 'mean', b.mgrad, DIM, 0);
    }
    expect(Array.from(main.denseWeights())).toEqual(Array.from(whole.denseWeights()));
    // One owner alone leaves the other shards' rows at their initial vectors.
    const lone = SharedEmbeddingTable.create(opts, 3);
    SharedEmbeddingTable.attach(lone.handle(), 1).update(bs[0]!.ids, bs[0]!.grad, DIM, 0);
    const fresh = new EmbeddingTable(opts);
    const ids = Int32Array.from(new Set(bs[0]!.ids));
    const a = gatherAll(lone, ids);
    const f = gatherAll(fresh, ids);
    ids.forEach((id, i) => {
      const row = Array.from(a.subarray(i * DIM, (i + 1) * DIM));
      if (id % 3 === 1) expect(row).not.toEqual(Array.from(f.subarray(i * DIM, (i + 1) * DIM)));
      else expect(row).toEqual(Array.from(f.subarray(i * DIM, (i + 1) * DIM)));
    });
  });

  it('saves in EmbeddingTable\'s format: each loads the other\'s save and goes on bit-identically', () => {
    const [first, second] = [batches(3, 400, 3000), batches(2, 400, 3000).reverse()];
    const ref = new EmbeddingTable(opts);
    const shared = SharedEmbeddingTable.create(opts, 2);
    train(ref, first);
    train(shared, first);
    const savedShared = shared.save();
    expect(Object.keys(savedShared.meta).sort()).toEqual(Object.keys(ref.save().meta).sort());
    expect(Object.keys(savedShared.buffers).sort()).toEqual(Object.keys(ref.save().buffers).sort());
    expect(savedShared.meta).toEqual({ ...ref.save().meta });
    const inProcess = EmbeddingTable.load(savedShared); // shared -> in-process
    const backShared = SharedEmbeddingTable.load(ref.save(), 3); // in-process -> shared, other shard count
    for (const t of [ref, inProcess, backShared]) train(t, second);
    train(shared, second);
    const want = Array.from(ref.denseWeights());
    for (const t of [shared, inProcess, backShared]) expect(Array.from(t.denseWeights())).toEqual(want);
    // Through the model's table files too (what a model trained with workers writes).
    const files = new Map<string, Uint8Array>();
    const entries = writeTables(new Map([['g', [shared]]]), (f, d) => files.set(f, d));
    const read = readTables(entries, (f) => files.get(f)!).get('g')![0]!;
    expect(Array.from(read.denseWeights())).toEqual(want);
  });

  it('importSaved replaces the rows in place (the workers keep their handles) and takes over the learning rate', () => {
    const bs = batches(2, 300, 2000);
    const shared = SharedEmbeddingTable.create(opts, 2);
    const worker = SharedEmbeddingTable.attach(shared.handle(), 0);
    train(shared, bs);
    const other = new EmbeddingTable({ ...opts, optimizer: { type: 'adam', lr: 0.005 } });
    train(other, bs.slice(1));
    shared.importSaved(other.save());
    expect(Array.from(shared.denseWeights())).toEqual(Array.from(other.denseWeights()));
    expect(Array.from(gatherAll(worker, probe))).toEqual(Array.from(gatherAll(other, probe)));
    expect(shared.optimizerConfig.lr).toBe(0.005);
    expect(() => shared.importSaved(new EmbeddingTable({ ...opts, dim: 4 }).save())).toThrow(/other settings/);
  });

  it('a learning rate set on the main thread reaches the workers\' instances', () => {
    const bs = batches(2, 300, 2000);
    const ref = new EmbeddingTable(opts);
    const main = SharedEmbeddingTable.create(opts, 2);
    const owners = [0, 1].map((k) => SharedEmbeddingTable.attach(main.handle(), k));
    ref.setLearningRate(0.1);
    main.setLearningRate(0.1);
    for (const b of bs) {
      ref.update(b.ids, b.grad, DIM, 0);
      for (const o of owners) o.update(b.ids, b.grad, DIM, 0);
    }
    expect(Array.from(main.denseWeights())).toEqual(Array.from(ref.denseWeights()));
  });
});
