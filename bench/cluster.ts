/**
 * Cluster benchmark (issue 15): rows/s of 1, 2 and 4 local training workers sharing their
 * embedding tables in a 3-master + 3-replica loopback Redis Cluster, and the store's share of a
 * round (pull + push against step and barrier), next to the in-process trainer on the same rows.
 * Not a test: it prints. On a shared machine the figures are noisy; it prints the load average.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/cluster.js [--rows 100000] [--batch 1024] [--workers 1,2,4] [--repeats 1]
 *
 * Each configuration runs `esmm launch --workers N` (N processes; worker I logs its rows, seconds
 * and per-round times); rows/s of a run = all workers' rows / the slowest worker's training seconds.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../src/distributed/local-cluster.js';

const { values } = parseArgs({ options: { rows: { type: 'string' }, batch: { type: 'string' }, workers: { type: 'string' }, repeats: { type: 'string' } } });
const ROWS = Number(values.rows ?? 100_000);
const BATCH = Number(values.batch ?? 1024);
const WORKERS = (values.workers ?? '1,2,4').split(',').map(Number);
const REPEATS = Number(values.repeats ?? 1);
const BIN = fileURLToPath(new URL('../../bin/esmm.js', import.meta.url));

function run(args: string[]): Promise<{ code: number; stderr: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stderr, seconds: (performance.now() - t0) / 1000 }));
  });
}

interface WorkerLine { rows: number; seconds: number; pull: number; step: number; push: number; barrier: number }

function parseWorkers(stderr: string): WorkerLine[] {
  const re = /worker \d+\/\d+: ([\d,]+) rows in ([\d.]+) s .*per round: pull ([\d.]+) ms, step ([\d.]+) ms, push ([\d.]+) ms, barrier ([\d.]+) ms/g;
  return [...stderr.matchAll(re)].map((m) => ({ rows: Number(m[1]!.replace(/,/g, '')), seconds: Number(m[2]), pull: Number(m[3]), step: Number(m[4]), push: Number(m[5]), barrier: Number(m[6]) }));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'esmm-bench-cluster-'));
const cfg = join(dir, 'bench.yaml');
writeFileSync(cfg, [
  `data: { synth: { rows: ${ROWS}, seed: 5 } }`,
  'schema: synth',
  'model: { name: esmm, embedding_dim: 8, tower: [64, 32] }',
  `train: { epochs: 1, batch_size: ${BATCH}, learning_rate: 0.003, seed: 1, early_stopping: false, validate: false }`,
  '',
].join('\n'));

console.log(`cluster bench: ${ROWS.toLocaleString('en-US')} simulated rows (train split ${Math.round(ROWS * 0.8).toLocaleString('en-US')}), batch ${BATCH}, 1 epoch, ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
const cluster = await LocalCluster.start(3, 1);
try {
  // In-process reference (no store): samples/s from metrics.json's history.
  const ref: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const out = join(dir, `ref${r}`);
    const res = await run(['train', '--config', cfg, '--out', out, '--quiet']);
    if (res.code !== 0) throw new Error(`in-process run failed: ${res.stderr}`);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { history: { samplesPerSecond: number }[] };
    ref.push(m.history[0]!.samplesPerSecond);
  }
  console.log(`in-process trainer (no store): ${Math.round(median(ref)).toLocaleString('en-US')} rows/s [${ref.map((x) => Math.round(x)).join(', ')}]`);
  console.log('workers  rows/s (median [runs])      per round (ms, worker medians): pull  step  push  barrier   store share');
  for (const n of WORKERS) {
    const rates: number[] = [];
    let lines: WorkerLine[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const res = await run(['launch', '--workers', String(n), '--store', cluster.url, '--run-id', `bench-${n}-${r}`, '--config', cfg, '--out', join(dir, `w${n}-${r}`), '--quiet']);
      const ws = parseWorkers(res.stderr);
      if (res.code !== 0 || ws.length !== n) throw new Error(`${n}-worker run failed: ${res.stderr.slice(-2000)}`);
      rates.push(ws.reduce((s, w) => s + w.rows, 0) / Math.max(...ws.map((w) => w.seconds)));
      lines = lines.concat(ws);
    }
    const p = median(lines.map((w) => w.pull));
    const st = median(lines.map((w) => w.step));
    const pu = median(lines.map((w) => w.push));
    const b = median(lines.map((w) => w.barrier));
    const share = (p + pu) / (p + st + pu + b);
    console.log(
      `${String(n).padStart(7)}  ${Math.round(median(rates)).toLocaleString('en-US').padStart(7)} [${rates.map((x) => Math.round(x)).join(', ')}]`.padEnd(56) +
      `${p.toFixed(1).padStart(5)} ${st.toFixed(1).padStart(5)} ${pu.toFixed(1).padStart(5)} ${b.toFixed(1).padStart(8)}   ${(100 * share).toFixed(0).padStart(5)}%`,
    );
  }
  console.log(`load after: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (a shared machine: other processes compete for the cores)`);
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
