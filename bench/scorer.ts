/**
 * Single-row scoring latency of the paper-setting ESMM (23 fields, dim 18, towers 360-200-80):
 * FunnelModel.predict([row]) (live weights) and Scorer.predict([row]) (frozen weights, what
 * `esmm serve` uses), one request at a time (target: p99 < 0.5 ms), plus 100-row requests.
 * Prints one JSON line with the machine's load average (wall-clock tails depend on it) and the
 * process CPU time per request next to wall-clock latency.
 * Run: npx tsc -p tsconfig.json && node dist/bench/scorer.js [requests]
 */
import os from 'node:os';
import type { CellValue } from '../src/data/rows.js';
import { Scorer } from '../src/serve/scorer.js';
import { paperModel, paperRows, quantile } from './paper-model.js';

const requests = Number(process.argv[2] ?? 5000);
const model = await paperModel(1);
const rows = paperRows(requests + 1000, 2);

type Predict = (rows: Record<string, CellValue>[]) => Promise<unknown>;
const scorer = await Scorer.create(model);

async function time(predict: Predict, batch: number, n: number): Promise<Record<string, number>> {
  const lat: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < 200; i++) await predict(rows.slice(i % 900, (i % 900) + batch)); // warm-up
  for (let i = 0; i < n; i++) {
    const start = (i * batch) % (rows.length - batch);
    const req = rows.slice(start, start + batch);
    const c = process.cpuUsage();
    const t = performance.now();
    await predict(req);
    lat.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
  }
  const total = lat.reduce((s, v) => s + v, 0);
  lat.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const r = (v: number): number => +v.toFixed(4);
  return {
    p50_ms: r(quantile(lat, 0.5)),
    p99_ms: r(quantile(lat, 0.99)),
    mean_ms: r(total / n),
    rows_per_s: Math.round((n * batch) / (total / 1000)),
    // Process CPU time per request: wall-clock tails on a loaded machine include time spent
    // descheduled; CPU time does not (resolution ~1 us, includes GC threads).
    cpu_p50_ms: r(quantile(cpu, 0.5)),
    cpu_p99_ms: r(quantile(cpu, 0.99)),
  };
}

const live: Predict = (r) => model.predict(r);
const frozen: Predict = (r) => scorer.predict(r);
const results = {
  scorer_single_row: await time(frozen, 1, requests),
  scorer_rows_100: await time(frozen, 100, Math.max(100, Math.floor(requests / 10))),
  model_predict_single_row: await time(live, 1, requests),
  model_predict_rows_100: await time(live, 100, Math.max(100, Math.floor(requests / 10))),
};
console.log(
  JSON.stringify({
    bench: 'scorer',
    model: 'esmm paper setting: 23 fields, dim 18, towers 360-200-80',
    requests,
    ...results,
    target_p99_ms: 0.5,
    node: process.version,
    cpus: os.cpus().length,
    loadavg: os.loadavg().map((v) => +v.toFixed(2)),
  }),
);
await scorer.release();
await model.release();
