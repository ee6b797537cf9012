/**
 * No lost updates under contention: N worker threads update the SAME rows of a shared, row-sharded
 * embedding table at the same time, each applying the whole batch to the rows it owns (as the
 * sharded step's apply phase does). The result must be the exact sum of the gradients (SGD from
 * zero with integer gradients: no rounding), and with a stateful optimizer bit-identical to one
 * thread updating an in-process EmbeddingTable (one step per row per batch, duplicates summed);
 * untouched rows keep their initial vectors bit for bit. Negative controls: the same harness with
 * ownership switched off (every worker updates every row it meets) gives a different result, so
 * the checks can fail.
 */
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedEmbeddingTable } from '../../../src/embedding/shared/shared-table.js';
import { EmbeddingTable, type EmbeddingTableOptions } from '../../../src/embedding/table.js';
import { startModuleWorker } from '../../../src/train/parallel/module-worker.js';
import { sliceRanges } from '../../../src/train/parallel/slice-batch.js';

const DIM = 4;
const ROWS = 40;
const BATCH = 600;
const ROUNDS = 40;
/** Hot ids: every slice hits them, and with 2 or 3 shards they fall in every shard. */
const ids = Int32Array.from({ length: BATCH }, (_, i) => [7, 7, 8, 3, 12, 7][i % 6]!);
/** Integer gradients: sums are exact in float32. */
const grad = Float32Array.from({ length: BATCH * DIM }, (_, j) => ((Math.floor(j / DIM) * 7 + j) % 5) + 1);

let workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
  workers = [];
});

/**
 * `rounds` updates from `n` threads at once. mode 'owned': each applies the whole batch to its
 * own shard (the sharded step). 'all': each applies the whole batch to every row (no ownership).
 * 'slice': each applies only its slice, to every row it meets (no ownership, Hogwild-style).
 */
async function hammer(opts: EmbeddingTableOptions, n: number, mode: 'owned' | 'all' | 'slice'): Promise<SharedEmbeddingTable> {
  const table = SharedEmbeddingTable.create(opts, n);
  workers = await Promise.all(Array.from({ length: n }, (_, k) => startModuleWorker(import.meta.url, 'hammer-worker', { handle: table.handle(), owner: mode === 'owned' ? k : -1 })));
  const ranges = sliceRanges(BATCH, n);
  for (let r = 0; r < ROUNDS; r++) {
    const replies = await Promise.all(workers.map((w, k) => new Promise<unknown>((resolve) => {
      w.once('message', resolve);
      const [a, b] = mode === 'slice' ? ranges[k]! : [0, BATCH];
      w.postMessage({ ids: ids.slice(a, b), grad: grad.slice(a * DIM, b * DIM), dim: DIM });
    })));
    expect(replies.every((x) => x === 'done'), String(replies)).toBe(true);
  }
  Atomics.load(new Int32Array(table.handle().allocated), 0);
  return table;
}

/** The exact result of ROUNDS SGD steps (lr 1) from zero: minus ROUNDS times each id's gradient sum. */
function exactSgd(): Float32Array {
  const out = new Float32Array(ROWS * DIM);
  for (let i = 0; i < BATCH; i++) for (let d = 0; d < DIM; d++) out[ids[i]! * DIM + d] -= ROUNDS * grad[i * DIM + d]!;
  return out;
}

/** Values as plain numbers, -0 as 0 (initStd 0 writes -0 into untouched rows). */
const plain = (a: Float32Array): number[] => Array.from(a, (v) => (v === 0 ? 0 : v));

/** One thread, in-process table: the reference for stateful optimizers. */
function reference(opts: EmbeddingTableOptions): Float32Array {
  const t = new EmbeddingTable(opts);
  for (let r = 0; r < ROUNDS; r++) t.update(ids, grad, DIM, 0);
  return t.denseWeights();
}

describe('shared embedding table under contention', () => {
  const sgd: EmbeddingTableOptions = { name: 'hot', rows: ROWS, dim: DIM, optimizer: { type: 'sgd', lr: 1 }, initStd: 0 };
  const adagrad: EmbeddingTableOptions = { name: 'hot', rows: ROWS, dim: DIM, optimizer: { type: 'adagrad', lr: 0.05 }, initStd: 0.01, seed: 3 };

  it.each([2, 3])('%i workers hammering the same rows: the exact sum of every gradient, nothing lost or doubled', async (n) => {
    const t = await hammer(sgd, n, 'owned');
    expect(plain(t.denseWeights())).toEqual(plain(exactSgd()));
  });

  it.each([2, 3])('%i workers with Adagrad: bit-identical to one thread (one step per row per batch); untouched rows at their initial vectors', async (n) => {
    const t = await hammer(adagrad, n, 'owned');
    const ref = reference(adagrad);
    expect(Array.from(t.denseWeights())).toEqual(Array.from(ref));
    const fresh = new EmbeddingTable(adagrad).denseWeights();
    const touched = new Set(ids);
    for (let id = 0; id < ROWS; id++) {
      if (!touched.has(id)) expect(Array.from(t.denseWeights().subarray(id * DIM, (id + 1) * DIM)), `row ${id}`).toEqual(Array.from(fresh.subarray(id * DIM, (id + 1) * DIM)));
    }
    expect(t.allocatedRows()).toBe(touched.size);
  });

  it('negative controls: without ownership the same checks fail', async () => {
    // Every worker applying the whole batch to every row: each update counted n times.
    const all = await hammer(sgd, 2, 'all');
    expect(plain(all.denseWeights())).not.toEqual(plain(exactSgd()));
    await Promise.all(workers.map((w) => w.terminate()));
    // Each worker applying its own slice to any row: a row gets one optimizer step per slice, not
    // one per batch (and read-modify-writes may race).
    workers = [];
    const slice = await hammer(adagrad, 2, 'slice');
    expect(Array.from(slice.denseWeights())).not.toEqual(Array.from(reference(adagrad)));
  });
});
