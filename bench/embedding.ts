/**
 * Embedding gather + sparse update at the paper setting: ONE shared table of 2M rows x dim 18 (all
 * 23 fields hash into it, as the throwaway prototype in DESIGN.md did), batch 2048 x 23 ids drawn
 * per field from a Zipf-like law and hashed into the table. One gather call fills the graph input
 * [batch, 23*18] (ids laid out batch-major, stride dim) and one update call scatters its gradient.
 *
 * Run: npx tsc -p tsconfig.json && node dist/bench/embedding.js [--zipf 0.8] [--runs 9] [--adagrad-only]
 * Prints one JSON line per scenario.
 */
import { EmbeddingTable } from '../src/embedding/table.js';
import type { SparseOptimizerConfig } from '../src/embedding/sparse-optimizer.js';
import { mix32 } from '../src/embedding/row-init.js';

const ROWS = 2_000_000;
const DIM = 18;
const BATCH = 2048;
const FIELDS = 23;
const FIELD_VOCAB = 1_000_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Deterministic uniform in (0,1) stream. */
function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    return (mix32(state) + 0.5) / 4294967296;
  };
}

/** Rank in 0..vocab-1 with P(rank r) ~ 1/(r+1)^s (continuous inverse CDF; s != 1). */
function zipfRank(u: number, vocab: number, s: number): number {
  const a = 1 - s;
  const r = Math.pow(u * (Math.pow(vocab + 1, a) - 1) + 1, 1 / a) - 1;
  return Math.min(vocab - 1, Math.floor(r));
}

function makeBatch(random: () => number, s: number): Int32Array {
  const ids = new Int32Array(BATCH * FIELDS);
  for (let i = 0; i < BATCH; i++) {
    for (let f = 0; f < FIELDS; f++) {
      const rank = zipfRank(random(), FIELD_VOCAB, s);
      ids[i * FIELDS + f] = mix32((rank * 31 + f * 0x01000193) >>> 0) % ROWS;
    }
  }
  return ids;
}

function uniqueCount(ids: Int32Array): number {
  const seen = new Uint8Array(ROWS);
  let n = 0;
  for (const id of ids) if (!seen[id]++) n++;
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function touchAll(table: EmbeddingTable): void {
  const chunk = 1 << 16;
  const ids = new Int32Array(chunk);
  const grad = new Float32Array(chunk * DIM);
  for (let start = 0; start < ROWS; start += chunk) {
    const n = Math.min(chunk, ROWS - start);
    for (let i = 0; i < n; i++) ids[i] = start + i;
    table.update(ids.subarray(0, n), grad, DIM, 0);
  }
}

async function run(optimizer: SparseOptimizerConfig, warm: boolean, s: number, runs: number): Promise<void> {
  const table = new EmbeddingTable({ name: 'shared', rows: ROWS, dim: DIM, optimizer, seed: 1 });
  const t0 = performance.now();
  if (warm) touchAll(table);
  const touchMs = performance.now() - t0;
  const random = makeRandom(42);
  const batches = Array.from({ length: runs + 2 }, () => makeBatch(random, s));
  const input = new Float32Array(BATCH * FIELDS * DIM);
  const grad = new Float32Array(BATCH * FIELDS * DIM);
  for (let i = 0; i < grad.length; i++) grad[i] = (random() - 0.5) * 1e-3;
  const gatherMs: number[] = [];
  const updateMs: number[] = [];
  const cpuMs: number[] = [];
  batches.forEach((ids, k) => {
    const cpu0 = process.cpuUsage();
    const a = performance.now();
    table.gather(ids, input, DIM, 0);
    const b = performance.now();
    table.update(ids, grad, DIM, 0);
    const c = performance.now();
    const cpu = process.cpuUsage(cpu0);
    // The first two batches warm up the JIT (and, cold, the first allocations); not counted.
    if (k >= 2) {
      gatherMs.push(b - a);
      updateMs.push(c - b);
      cpuMs.push((cpu.user + cpu.system) / 1000);
    }
  });
  const g = median(gatherMs);
  const u = median(updateMs);
  const rawBytes = ROWS * DIM * 4;
  console.log(
    JSON.stringify({
      bench: 'embedding',
      table: `shared ${ROWS} x ${DIM}`,
      optimizer: optimizer.type,
      state: warm ? 'all rows materialised' : 'fresh table (lazy rows created during the runs)',
      batch: BATCH,
      fields: FIELDS,
      zipfS: s,
      uniqueIdsPerBatch: median(batches.map(uniqueCount)),
      runs,
      gatherMsMedian: +g.toFixed(2),
      updateMsMedian: +u.toFixed(2),
      totalMsMedian: +(g + u).toFixed(2),
      nsPerLookup: +(((g + u) * 1e6) / (BATCH * FIELDS)).toFixed(1),
      // CPU time of gather + update: less sensitive than wall time to other processes on the machine.
      cpuMsMedian: +median(cpuMs).toFixed(2),
      loadAverage1m: (await import('node:os')).loadavg()[0],
      allocatedRows: table.allocatedRows(),
      bytesOverRaw: +(table.byteSize() / rawBytes).toFixed(3),
      touchAllMs: warm ? Math.round(touchMs) : undefined,
    }),
  );
}

const s = arg('zipf', 0.8); // about 41k unique ids of 47k per batch, close to DESIGN.md's 42k
const runs = arg('runs', 9);
const only = process.argv.includes('--adagrad-only');
await run({ type: 'adagrad', lr: 0.05 }, true, s, runs);
await run({ type: 'adagrad', lr: 0.05 }, false, s, runs);
if (!only) {
  for (const optimizer of [
    { type: 'adam', lr: 1e-3 },
    { type: 'ftrl', lr: 0.05 },
    { type: 'sgd', lr: 0.05 },
  ] as SparseOptimizerConfig[]) {
    await run(optimizer, true, s, runs);
  }
}
