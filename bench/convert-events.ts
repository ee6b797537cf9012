/**
 * `esmm convert events` throughput and memory on a generated Taobao-shaped log (default 10M
 * events): no header, user_id,item_id,category_id,behavior,timestamp; about 90% pv, 5% cart, 2.5%
 * fav, 2.5% buy (some buys without a cart, as in the real log), over 9 days.
 *
 * The log is written by DuckDB SQL (range() + hash-based randomness) in a child process, so the
 * generator's memory does not count; then this process converts it with the taobao preset and
 * prints one JSON line: events, rows per split, seconds, events/s and peak RSS (VmHWM from
 * /proc/self/status, which includes DuckDB's native memory). Everything written is deleted.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/convert-events.js [events] [memoryLimit] [threads]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { convertEvents } from '../src/datasets/events/convert-events.js';
import { eventPreset } from '../src/datasets/events/event-presets.js';

const T0 = 1511539200; // 2017-11-25 00:00:00 UTC, the real log's first day
const SPAN = 9 * 86400;

/**
 * Events come in pairs (visits): event 2v is a pv of item A by user U; event 2v+1 is, by chance,
 * a pv of another item (80%), or a cart (10%), fav (5%) or buy (5%) of A a minute later.
 */
function generateSql(file: string, events: number): string {
  const users = Math.max(1, Math.round(events / 100));
  const items = Math.max(1, Math.round(events / 10));
  const h = (expr: string, salt: number, mod: number): string => `(hash(${expr}, ${salt}) % ${mod})`;
  const visits = `SELECT range // 2 AS v, range % 2 AS j, ${h('range', 3, 100)} AS r,
      ${h('range // 2', 2, items)} AS item_a, ${h('range', 4, items)} AS item_b FROM range(${events})`;
  const events_ = `SELECT v, j, CASE WHEN j = 1 AND r < 80 THEN item_b ELSE item_a END AS item,
      CASE WHEN j = 0 OR r < 80 THEN 'pv' WHEN r < 90 THEN 'cart' WHEN r < 95 THEN 'fav' ELSE 'buy' END AS behavior FROM (${visits})`;
  return `COPY (SELECT ${h('v', 1, users)} AS user_id, item AS item_id, item % 9439 AS category_id, behavior,
      ${T0} + ${h('v', 5, SPAN)} + 60 * j AS timestamp FROM (${events_})) TO '${file}' (HEADER false)`;
}

async function generate(file: string, events: number): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(generateSql(file, events));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--generate') {
    await generate(process.argv[3]!, Number(process.argv[4]));
    return;
  }
  const events = Number(process.argv[2] ?? 10_000_000);
  const memoryLimit = process.argv[3] ?? '2GB';
  const threads = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'esmm-bench-events-'));
  const log = path.join(dir, 'user-behavior.csv');
  try {
    let t = performance.now();
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--generate', log, String(events)], { stdio: 'inherit' });
    if (child.status !== 0) throw new Error(`generator exited with ${child.status}`);
    const generateSeconds = (performance.now() - t) / 1000;
    const bytes = (await stat(log)).size;
    const rssBefore = peakRssMb();
    const load = os.loadavg();
    t = performance.now();
    const summary = await convertEvents({
      input: log,
      outDir: path.join(dir, 'out'),
      spec: eventPreset('taobao'),
      preset: 'taobao',
      memoryLimit,
      ...(threads !== undefined ? { threads } : {}),
      onProgress: (p) => process.stderr.write(`${p.stage} ${p.percentage.toFixed(0)}%\n`),
      progressIntervalMs: 10_000,
    });
    const seconds = (performance.now() - t) / 1000;
    const { train, valid, test } = summary.splits;
    const out = {
      events: summary.events.read,
      log_mb: Math.round(bytes / 2 ** 20),
      generate_seconds: Number(generateSeconds.toFixed(1)),
      units: summary.units,
      rows: { train: train.rows, valid: valid.rows, test: test.rows },
      out_of_order: summary.out_of_order.cases,
      seconds: Number(seconds.toFixed(1)),
      stage_seconds: Object.fromEntries(Object.entries(summary.stage_seconds).map(([k, v]) => [k, Number(v.toFixed(1))])),
      events_per_second: Math.round(summary.events.read / seconds),
      peak_rss_mb: Math.round(peakRssMb()),
      rss_before_convert_mb: Math.round(rssBefore),
      memory_limit: memoryLimit,
      threads: threads ?? os.cpus().length,
      loadavg_before: load.map((x) => Number(x.toFixed(2))),
      loadavg_after: os.loadavg().map((x) => Number(x.toFixed(2))),
    };
    console.log(JSON.stringify(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
