/**
 * The sparse embedding update of the paper-setting bench (23 tables, dim 18, sparse Adam, batch
 * 2048, skewed ids) on its own: one thread updating in-process EmbeddingTables (train.workers: 1)
 * against N threads each updating its own shard of SharedEmbeddingTables (the sharded step's apply
 * phase), interleaved. Prints wall ms per batch and process CPU ms per batch (CPU time moves far
 * less than wall time when other tenants share the machine): if N owners together spend about the
 * CPU of one thread, the phase's wall time divides by N on an idle machine.
 *   node dist/bench/shard-update.js [--workers 2] [--batches 40] [--rounds 5]
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { SharedEmbeddingTable } from '../src/embedding/shared/shared-table.js';
import { EmbeddingTable } from '../src/embedding/table.js';
import { startModuleWorker } from '../src/train/parallel/module-worker.js';
import { Rng } from '../src/util/random.js';

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('workers', 2);
const BATCHES = arg('batches', 40);
const ROUNDS = arg('rounds', 5);
const FIELDS = 23;
const DIM = 18;
const BATCH = 2048;
const ROWS = 200_000;
const opts = (f: number) => ({ name: `g/f${f}`, rows: ROWS, dim: DIM, optimizer: { type: 'adam' as const, lr: 1e-3 }, seed: 1 });

const rng = new Rng(7);
const ids = Array.from({ length: BATCHES }, () => Array.from({ length: FIELDS }, () => Int32Array.from({ length: BATCH }, () => Math.floor(ROWS * rng.next() ** 3))));
const grads = Array.from({ length: BATCHES }, () => Array.from({ length: FIELDS }, () => Float32Array.from({ length: BATCH * DIM }, () => rng.normal() * 1e-3)));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;

async function oneThread(): Promise<{ wall: number; cpu: number }> {
  const tables = Array.from({ length: FIELDS }, (_, f) => new EmbeddingTable(opts(f)));
  for (let i = 0; i < BATCHES; i++) tables.forEach((t, f) => t.update(ids[i]![f]!, grads[i]![f]!, DIM, 0)); // materialise (warm)
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < BATCHES; i++) tables.forEach((t, f) => t.update(ids[i]![f]!, grads[i]![f]!, DIM, 0));
  return { wall: (performance.now() - t0) / BATCHES, cpu: cpuMs(process.cpuUsage(c0)) / BATCHES };
}

async function sharded(): Promise<{ wall: number; cpu: number }> {
  const tables = Array.from({ length: FIELDS }, (_, f) => SharedEmbeddingTable.create(opts(f), N));
  const handles = tables.map((t) => t.handle());
  const workers: Worker[] = await Promise.all(Array.from({ length: N }, (_, rank) => startModuleWorker(import.meta.url, 'shard-update-worker', { handles, rank, ids, grads, dim: DIM })));
  const step = (i: number): Promise<unknown[]> => Promise.all(workers.map((w) => new Promise((resolve) => {
    w.once('message', resolve);
    w.postMessage(i);
  })));
  for (let i = 0; i < BATCHES; i++) await step(i); // materialise (warm)
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < BATCHES; i++) await step(i);
  const r = { wall: (performance.now() - t0) / BATCHES, cpu: cpuMs(process.cpuUsage(c0)) / BATCHES };
  await Promise.all(workers.map((w) => w.terminate()));
  return r;
}

const one: { wall: number; cpu: number }[] = [];
const many: { wall: number; cpu: number }[] = [];
for (let r = 0; r < ROUNDS; r++) {
  one.push(await oneThread());
  many.push(await sharded());
  console.log(JSON.stringify({ bench: 'shard-update', round: r + 1, one_thread_ms: { wall: +one.at(-1)!.wall.toFixed(2), cpu: +one.at(-1)!.cpu.toFixed(2) }, [`owners_${N}_ms`]: { wall: +many.at(-1)!.wall.toFixed(2), cpu: +many.at(-1)!.cpu.toFixed(2) }, load_1m: +os.loadavg()[0]!.toFixed(2) }));
}
const m = (xs: { wall: number; cpu: number }[]) => ({ wall: +median(xs.map((x) => x.wall)).toFixed(2), cpu: +median(xs.map((x) => x.cpu)).toFixed(2) });
console.log(JSON.stringify({ bench: 'shard-update summary', fields: FIELDS, dim: DIM, batch: BATCH, optimizer: 'adam', one_thread_ms_median: m(one), [`owners_${N}_ms_median`]: m(many), load_1m: +os.loadavg()[0]!.toFixed(2) }));
