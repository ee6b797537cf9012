/**
 * The same table tests for every TableStore: a StoreBackedTable (pull -> gather -> update ->
 * push) against a plain EmbeddingTable with the same optimizer, over several steps with duplicate
 * ids. SGD and row-wise Adagrad must match bit for bit (the Lua function rounds to float32 where
 * the JS optimizers do); Adam within 1e-6 relative (pow() may differ in the last bit of a double
 * between V8 and the C library, see redis-functions.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SparseOptimizerConfig } from '../../src/embedding/sparse-optimizer.js';
import { EmbeddingTable } from '../../src/embedding/table.js';
import { LocalCluster, redisAvailable } from '../../src/distributed/local-cluster.js';
import { RedisTableStore } from '../../src/distributed/redis-store.js';
import { StoreBackedTable } from '../../src/distributed/store-backed-table.js';
import { InProcessTableStore, tableOf, type TableSpec, type TableStore } from '../../src/distributed/table-store.js';
import { expectClose, randomFloats } from '../embedding/helpers.js';

const ROWS = 50;
const DIM = 6;
const TOUCHED = 30; // ids 30..49 are never updated

const CASES: { label: string; optimizer: SparseOptimizerConfig; l2: number; freq?: boolean; exact: boolean }[] = [
  { label: 'sgd', optimizer: { type: 'sgd', lr: 0.5 }, l2: 0, exact: true },
  { label: 'adagrad', optimizer: { type: 'adagrad', lr: 0.1, initialAccumulator: 0.01, eps: 1e-8 }, l2: 0, exact: true },
  { label: 'adagrad + l2', optimizer: { type: 'adagrad', lr: 0.1, initialAccumulator: 0.01, eps: 1e-8 }, l2: 0.05, exact: true },
  { label: 'adam', optimizer: { type: 'adam', lr: 0.01 }, l2: 0, exact: false },
  // Frequency-aware L2: l2 / count, the count kept beside each row (a strong l2 so it shows).
  { label: 'sgd + frequency-aware l2', optimizer: { type: 'sgd', lr: 0.5 }, l2: 0.5, freq: true, exact: true },
  { label: 'adagrad + frequency-aware l2', optimizer: { type: 'adagrad', lr: 0.1, initialAccumulator: 0.01, eps: 1e-8 }, l2: 0.5, freq: true, exact: true },
  { label: 'adam + frequency-aware l2', optimizer: { type: 'adam', lr: 0.01 }, l2: 0.5, freq: true, exact: false },
  // FTRL: a created row's z is derived from its initial weights (l1 large enough to zero some coordinates).
  { label: 'ftrl', optimizer: { type: 'ftrl', lr: 0.1, l1: 0.02, l2: 0.01, beta: 1 }, l2: 0, exact: true },
  { label: 'ftrl + frequency-aware l2', optimizer: { type: 'ftrl', lr: 0.1, l1: 0.02, l2: 0.01, beta: 1 }, l2: 0.5, freq: true, exact: true },
];

function specsFor(optimizer: SparseOptimizerConfig, l2: number, freq = false): TableSpec[] {
  const f = freq ? { l2Frequency: true } : {};
  return [
    { name: 'g/a', rows: ROWS, dim: DIM, seed: 7, initStd: 0.05, optimizer, l2, ...f },
    { name: 'g/b', rows: ROWS, dim: DIM, seed: 8, initStd: 0.05, optimizer, l2, ...f },
  ];
}

/** Ids with duplicates, all below TOUCHED. */
function batchIds(step: number, n = 40): Int32Array {
  const r = randomFloats(n, 1000 + step, 1);
  return Int32Array.from(r, (x) => Math.floor(((x + 1) / 2) * TOUCHED) % TOUCHED);
}

function allIds(): Int32Array {
  return Int32Array.from({ length: ROWS }, (_, i) => i);
}

function unique(ids: Int32Array): Int32Array {
  return Int32Array.from(new Set(ids));
}

/** The reference's rows of `ids` (every id by default): weights, state, presence and occurrence counts. */
function readAll(t: EmbeddingTable, ids = allIds()): { weights: Float32Array; state: Int32Array; present: Uint8Array; counts: Int32Array } {
  const n = ids.length;
  const out = { weights: new Float32Array(n * t.dim), state: new Int32Array(n * t.rowStateWords), present: new Uint8Array(n), counts: new Int32Array(n) };
  t.readRows(ids, out.weights, out.state, out.present, out.counts);
  return out;
}

/** Occurrence counts by id of a frequency-aware table, read through scan (every pending round applied). */
async function countsById(store: TableStore, table: number): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for await (const block of store.scan(table)) block.ids.forEach((id, i) => counts.set(id, block.counts![i]!));
  return counts;
}

/** Every row's occurrence count by id (0 for rows not stored), read through scan. */
async function scannedCounts(store: TableStore, table: number): Promise<number[]> {
  const byId = await countsById(store, table);
  return Array.from({ length: ROWS }, (_, id) => byId.get(id) ?? 0);
}

/**
 * Runs `steps` steps through the store and the reference; compares the final states. `tagged`:
 * each step is round `step` of worker 0 (the trainer's path: a push is summed into the round's
 * pending gradient and applied by the next round's read).
 */
async function drive(store: TableStore, specs: TableSpec[], steps: number, pooled: boolean, tagged = false): Promise<void> {
  const refs = specs.map(tableOf);
  const caches = specs.map((s, i) => new StoreBackedTable(s, i));
  for (let step = 0; step < steps; step++) {
    const idsPer = specs.map((_, t) => batchIds(step * 2 + t));
    const uniq = idsPer.map(unique);
    const pulled = await store.pull(uniq.map((ids, table) => ({ table, ids })), tagged ? step : undefined);
    pulled.forEach((p, t) => caches[t]!.fill(uniq[t]!, p.weights, p.state, p.present));
    for (let t = 0; t < specs.length; t++) {
      const ids = idsPer[t]!;
      // gather equality: what the step would read from the cache is the reference's row.
      const got = new Float32Array(ids.length * DIM);
      const want = new Float32Array(ids.length * DIM);
      caches[t]!.gather(ids, got, DIM, 0);
      refs[t]!.gather(ids, want, DIM, 0);
      expect(got).toEqual(want);
      if (!pooled) {
        const grad = randomFloats(ids.length * DIM, 50 + step * 3 + t, 0.5);
        caches[t]!.update(ids, grad, DIM, 0);
        refs[t]!.update(ids, grad, DIM, 0);
      } else {
        // 8 pooled rows of 5 ids each with weights, mean mode (duplicates inside and across rows).
        const offsets = Int32Array.from({ length: 9 }, (_, i) => i * 5);
        const weights = Float32Array.from(randomFloats(40, 900 + step, 1), (x) => Math.abs(x) + 0.1);
        const m = { ids, offsets, weights };
        const grad = randomFloats(8 * DIM, 70 + step * 3 + t, 0.5);
        caches[t]!.updatePooled(m, 'mean', grad, DIM, 0);
        refs[t]!.updatePooled(m, 'mean', grad, DIM, 0);
      }
    }
    await store.push(caches.flatMap((c) => c.takePending()), tagged ? { worker: 0, round: step } : undefined);
  }
  // Final rows from the store against the reference: weights, optimizer state, presence (and,
  // frequency-aware, every row's occurrence count, which the scan applying the last round returns).
  for (let t = 0; t < specs.length; t++) {
    if (specs[t]!.l2Frequency !== true) continue;
    const want = readAll(refs[t]!).counts;
    expect(Math.max(...want)).toBeGreaterThan(steps); // duplicates within steps were counted
    expect(await scannedCounts(store, t)).toEqual(Array.from(want));
  }
  const pulled = await store.pull(specs.map((_, table) => ({ table, ids: allIds() })), tagged ? steps : undefined);
  pulled.forEach((p, t) => {
    const want = readAll(refs[t]!);
    expect(Array.from(p.present)).toEqual(Array.from(want.present));
    expect(Array.from(p.present.subarray(TOUCHED))).toEqual(new Array(ROWS - TOUCHED).fill(0)); // untouched rows stay absent...
    expect(p.weights.subarray(TOUCHED * DIM)).toEqual(want.weights.subarray(TOUCHED * DIM)); // ...at their init vector
    const exact = specs[t]!.optimizer.type !== 'adam';
    if (exact) {
      expect(new Int32Array(p.weights.buffer)).toEqual(new Int32Array(want.weights.buffer)); // bit-exact
      expect(p.state).toEqual(want.state);
    } else {
      expectClose(p.weights, want.weights, 1e-6, 1e-9);
      const sw = 2 * DIM + 1;
      for (let i = 0; i < ROWS; i++) {
        if (p.present[i] !== 1) continue;
        expectClose(new Float32Array(p.state.buffer, 4 * i * sw, 2 * DIM), new Float32Array(want.state.buffer, 4 * i * sw, 2 * DIM), 1e-6, 1e-12);
        expect(p.state[i * sw + 2 * DIM]).toBe(want.state[i * sw + 2 * DIM]); // Adam's step count
      }
    }
  });
}

function suite(name: string, open: (specs: TableSpec[], run: string) => Promise<TableStore>, tagged = false): void {
  describe(name, () => {
    for (const c of CASES) {
      it(`${c.label}: gather/update equal EmbeddingTable over 5 steps with duplicate ids; untouched rows unchanged; state ${c.exact ? 'bit-exact' : 'within 1e-6'}`, async () => {
        const specs = specsFor(c.optimizer, c.l2, c.freq);
        const store = await open(specs, `t-${tagged ? 'r-' : ''}${c.label.replace(/\W+/g, '-')}`);
        try {
          await drive(store, specs, 5, false, tagged);
        } finally {
          await store.close();
        }
      });
    }
    it('pooled (mean, weighted) updates equal EmbeddingTable (adagrad)', async () => {
      const specs = specsFor(CASES[1]!.optimizer, 0);
      const store = await open(specs, tagged ? 'pooled-r' : 'pooled');
      try {
        await drive(store, specs, 4, true, tagged);
      } finally {
        await store.close();
      }
    });
    it('pooled updates with frequency-aware l2 equal EmbeddingTable (adagrad; every occurrence in a bag counts)', async () => {
      const specs = specsFor(CASES[1]!.optimizer, 0.5, true);
      const store = await open(specs, tagged ? 'pooled-f-r' : 'pooled-f');
      try {
        await drive(store, specs, 4, true, tagged);
      } finally {
        await store.close();
      }
    });
  });
}

suite('InProcessTableStore', async (specs) => new InProcessTableStore(specs));

const haveRedis = await redisAvailable();

describe.skipIf(!haveRedis)('RedisTableStore on a 3-master + 3-replica loopback cluster (skipped without redis-server)', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await LocalCluster.start(3, 1);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  suite('same table tests', (specs, run) => RedisTableStore.open(cluster.url, specs, { run, groups: 64 }));
  suite('same table tests, pushes tagged with rounds (summed per round, applied on the next read)', (specs, run) => RedisTableStore.open(cluster.url, specs, { run, groups: 64 }), true);

  // Two workers' pushes of one row in one round are ONE optimizer step on their summed gradient
  // (the single process's step on the whole batch), whichever lands first; a read of that same
  // round (a slower worker's pull) still sees the row as it was before the round.
  for (const c of [CASES[1]!, CASES[2]!, CASES[3]!]) {
    it(`${c.label}: two workers' pushes of a row in one round = one step on g0 + g1 (not two steps)`, async () => {
      const specs = specsFor(c.optimizer, c.l2);
      const run = `once-${c.label.replace(/\W+/g, '-')}`;
      const a = await RedisTableStore.open(cluster.url, specs, { run, groups: 16 });
      const b = await RedisTableStore.open(cluster.url, specs, { run, groups: 16 });
      try {
        const ids = Int32Array.of(2, 3, 19); // 19 is new to both; 2 and 3 were updated in round 0
        const warm = Int32Array.of(2, 3);
        const g = (seed: number, n = ids.length): Float32Array => randomFloats(n * DIM, seed, 0.3);
        const ref = tableOf(specs[0]!);
        const twice = tableOf(specs[0]!);
        const g00 = g(40, 2);
        await a.pull([{ table: 0, ids: warm }], 0);
        await a.push([{ table: 0, ids: warm, grad: g00, present: new Uint8Array(2) }], { worker: 0, round: 0 });
        ref.update(warm, g00, DIM, 0);
        twice.update(warm, g00, DIM, 0);
        const [g0, g1] = [g(41), g(42)];
        const [pa] = await a.pull([{ table: 0, ids }], 1);
        const [pb] = await b.pull([{ table: 0, ids }], 1);
        expect(Array.from(pa!.present)).toEqual([1, 1, 0]);
        await b.push([{ table: 0, ids, grad: g1, present: pb!.present }], { worker: 1, round: 1 });
        // Worker 0 reads round 1 after worker 1 pushed it: it must not see that push.
        const [late] = await a.pull([{ table: 0, ids }], 1);
        expect(late!.weights).toEqual(pa!.weights);
        // (Row 19 now exists with the optimizer's initial state: an absent row's state reads as 0.)
        const sw = ref.rowStateWords;
        expect(late!.state.subarray(0, 2 * sw)).toEqual(pa!.state.subarray(0, 2 * sw));
        await a.push([{ table: 0, ids, grad: g0, present: pa!.present }], { worker: 0, round: 1 });
        const sum = new Float32Array(g0.length);
        for (let i = 0; i < sum.length; i++) sum[i] = g0[i]! + g1[i]!; // float32, as EmbeddingTable sums duplicates
        ref.update(ids, sum, DIM, 0);
        twice.update(ids, g1, DIM, 0);
        twice.update(ids, g0, DIM, 0);
        // The epoch-end scan applies every pending sum; the next round's pull then reads the same rows.
        const seen = new Map<number, Float32Array>();
        for await (const block of a.scan(0)) block.ids.forEach((id, i) => seen.set(id, block.weights.slice(i * DIM, (i + 1) * DIM)));
        const [p] = await b.pull([{ table: 0, ids }], 2);
        const want = { weights: new Float32Array(ids.length * DIM), state: new Int32Array(ids.length * ref.rowStateWords), present: new Uint8Array(ids.length) };
        ref.readRows(ids, want.weights, want.state, want.present);
        const two = { weights: new Float32Array(ids.length * DIM), state: new Int32Array(ids.length * ref.rowStateWords), present: new Uint8Array(ids.length) };
        twice.readRows(ids, two.weights, two.state, two.present);
        if (c.exact) {
          expect(new Int32Array(p!.weights.buffer)).toEqual(new Int32Array(want.weights.buffer));
          expect(p!.state).toEqual(want.state);
        } else {
          expectClose(p!.weights, want.weights, 1e-6, 1e-9);
          for (let i = 0; i < ids.length; i++) expect(p!.state[i * sw + 2 * DIM]).toBe(want.state[i * sw + 2 * DIM]);
        }
        // ...and that is not what two sequential steps give.
        let far = 0;
        for (let i = 0; i < p!.weights.length; i++) far = Math.max(far, Math.abs(p!.weights[i]! - two.weights[i]!));
        expect(far).toBeGreaterThan(1e-5);
        ids.forEach((id, i) => expect(seen.get(id)).toEqual(want.weights.subarray(i * DIM, (i + 1) * DIM)));
      } finally {
        await a.close();
        await b.close();
      }
    });
  }

  it("frequency-aware l2: two workers' pushes of a row in one round = one step with their summed occurrences", async () => {
    const c = CASES.find((x) => x.label === 'adagrad + frequency-aware l2')!;
    const specs = specsFor(c.optimizer, c.l2, true);
    const a = await RedisTableStore.open(cluster.url, specs, { run: 'once-freq', groups: 16 });
    const b = await RedisTableStore.open(cluster.url, specs, { run: 'once-freq', groups: 16 });
    try {
      const ids = Int32Array.of(2, 3, 19);
      const [g0, g1] = [randomFloats(ids.length * DIM, 51, 0.3), randomFloats(ids.length * DIM, 52, 0.3)];
      const [c0, c1] = [Int32Array.of(1, 2, 1), Int32Array.of(3, 1, 1)];
      const [pa] = await a.pull([{ table: 0, ids }], 1);
      const [pb] = await b.pull([{ table: 0, ids }], 1);
      await b.push([{ table: 0, ids, grad: g1, present: pb!.present, counts: c1 }], { worker: 1, round: 1 });
      await a.push([{ table: 0, ids, grad: g0, present: pa!.present, counts: c0 }], { worker: 0, round: 1 });
      const ref = tableOf(specs[0]!);
      const sum = new Float32Array(g0.length);
      for (let i = 0; i < sum.length; i++) sum[i] = g0[i]! + g1[i]!;
      ref.update(ids, sum, DIM, 0, Int32Array.of(4, 3, 2));
      const [p] = await a.pull([{ table: 0, ids }], 2);
      const want = readAll(ref, ids);
      expect(new Int32Array(p!.weights.buffer)).toEqual(new Int32Array(want.weights.buffer));
      expect(p!.state).toEqual(want.state);
      expect(Array.from(want.counts)).toEqual([4, 3, 2]);
      const counts = await countsById(a, 0);
      expect([2, 3, 19].map((id) => counts.get(id))).toEqual([4, 3, 2]);
      // A table without the frequency-aware form under the same run is refused, not misread.
      const plain = await RedisTableStore.open(cluster.url, specsFor(c.optimizer, c.l2), { run: 'once-freq', groups: 16 });
      try {
        await expect(plain.pull([{ table: 0, ids }], 2)).rejects.toThrow(/holds \d+ bytes, expected \d+ .*L2 form/);
      } finally {
        await plain.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('frequency-aware l2: restoreRows writes the occurrence counts, and the next step continues from them', async () => {
    const c = CASES.find((x) => x.label === 'adagrad + frequency-aware l2')!;
    const specs = specsFor(c.optimizer, c.l2, true);
    const store = await RedisTableStore.open(cluster.url, specs, { run: 'restore-freq', groups: 16 });
    try {
      const ref = tableOf(specs[0]!);
      const ids = Int32Array.of(1, 8, 30);
      ref.update(ids, randomFloats(ids.length * DIM, 61, 0.3), DIM, 0, Int32Array.of(5, 1, 2));
      ref.update(Int32Array.of(1, 1, 8), randomFloats(3 * DIM, 62, 0.3), DIM, 0);
      const snap = readAll(ref, ids);
      expect(Array.from(snap.counts)).toEqual([7, 2, 2]);
      await store.restoreRows(0, { ids, weights: snap.weights, state: snap.state, counts: snap.counts });
      const g = randomFloats(ids.length * DIM, 63, 0.3);
      await store.push([{ table: 0, ids, grad: g, present: snap.present, counts: Int32Array.of(1, 1, 3) }]);
      ref.update(ids, g, DIM, 0, Int32Array.of(1, 1, 3));
      const [p] = await store.pull([{ table: 0, ids }]);
      expect(new Int32Array(p!.weights.buffer)).toEqual(new Int32Array(readAll(ref, ids).weights.buffer));
      const counts = await countsById(store, 0);
      expect([1, 8, 30].map((id) => counts.get(id))).toEqual([8, 3, 5]);
    } finally {
      await store.close();
    }
  });

  it('spreads rows over every master (hash tags are not too coarse)', async () => {
    const specs = specsFor({ type: 'sgd', lr: 0.1 }, 0);
    const store = await RedisTableStore.open(cluster.url, specs, { run: 'spread', groups: 64 });
    try {
      const ids = allIds();
      await store.pull([{ table: 0, ids }]);
      await store.push([{ table: 0, ids, grad: randomFloats(ROWS * DIM, 3, 0.1) }]);
      const perMaster = await Promise.all(
        store.cluster.nodes('master').map(async (n) => {
          let count = 0;
          let cursor = '0';
          do {
            const [next, keys] = await n.scan(cursor, 'MATCH', `${store.prefix}*`, 'COUNT', 1000);
            cursor = next;
            count += keys.length;
          } while (cursor !== '0');
          return count;
        }),
      );
      expect(perMaster.reduce((a, b) => a + b, 0)).toBe(ROWS);
      for (const k of perMaster) expect(k).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('two clients updating the same rows concurrently lose no update (Adam step counts add up)', async () => {
    const specs = specsFor({ type: 'adam', lr: 0.01 }, 0);
    const a = await RedisTableStore.open(cluster.url, specs, { run: 'race', groups: 16 });
    const b = await RedisTableStore.open(cluster.url, specs, { run: 'race', groups: 16 });
    try {
      const ids = Int32Array.of(1, 2, 3, 17);
      const pushes = (s: RedisTableStore, seed: number): Promise<void>[] =>
        Array.from({ length: 25 }, (_, k) => s.push([{ table: 0, ids, grad: randomFloats(ids.length * DIM, seed + k, 0.1) }]));
      await Promise.all([...pushes(a, 100), ...pushes(b, 200)]);
      const [p] = await a.pull([{ table: 0, ids }]);
      const sw = 2 * DIM + 1;
      for (let i = 0; i < ids.length; i++) expect(p!.state[i * sw + 2 * DIM]).toBe(50);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a worker's push of one round applies once, however often it is sent (retries, a restarted worker)", async () => {
    const specs = specsFor({ type: 'adam', lr: 0.01 }, 0);
    const store = await RedisTableStore.open(cluster.url, specs, { run: 'marker', groups: 16 });
    try {
      const ids = Int32Array.of(4, 20, 21);
      const grad = randomFloats(ids.length * DIM, 11, 0.1);
      const steps = async (): Promise<number[]> => {
        const [p] = await store.pull([{ table: 0, ids }]);
        return Array.from(ids, (_, i) => p!.state[i * (2 * DIM + 1) + 2 * DIM]!);
      };
      await store.push([{ table: 0, ids, grad }], { worker: 1, round: 3 });
      await store.push([{ table: 0, ids, grad }], { worker: 1, round: 3 });
      expect(await steps()).toEqual([1, 1, 1]);
      await store.push([{ table: 0, ids, grad }], { worker: 0, round: 3 }); // another worker's round 3
      await store.push([{ table: 0, ids, grad }], { worker: 1, round: 4 });
      await store.push([{ table: 0, ids, grad }], { worker: 1, round: 2 }); // an old round
      expect(await steps()).toEqual([3, 3, 3]);
    } finally {
      await store.close();
    }
  });

  it('scan returns every stored row of a table and nothing of other runs', async () => {
    const specs = specsFor({ type: 'adagrad', lr: 0.1 }, 0);
    const store = await RedisTableStore.open(cluster.url, specs, { run: 'scan', groups: 64 });
    try {
      const ids = Int32Array.of(0, 5, 9, 33, 49);
      await store.push([{ table: 1, ids, grad: randomFloats(ids.length * DIM, 9, 0.1) }]);
      const seen: number[] = [];
      for await (const block of store.scan(1)) seen.push(...block.ids);
      expect(seen.sort((x, y) => x - y)).toEqual([0, 5, 9, 33, 49]);
      let other = 0;
      for await (const block of store.scan(0)) other += block.ids.length;
      expect(other).toBe(0);
    } finally {
      await store.close();
    }
  });
});
