/**
 * Does training through the Redis store change the model's quality? (issue 15: 2 workers through
 * a 3-node cluster should reach the single-process AUC within 0.005.) For each seed it trains the
 * same simulated set once in-process and once with `esmm launch --workers N` through a 3-master +
 * 3-replica loopback cluster, and prints the test-split CTR and CTCVR AUCs, the gaps, and the
 * spread of the single-process AUC across seeds (the noise floor any gap must be read against).
 * Not a test: it prints.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/cluster-quality.js [--rows 400000] [--seeds 1,2] [--workers 2] [--epochs 2] [--batch 1024]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../src/distributed/local-cluster.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '400000' },
    seeds: { type: 'string', default: '1,2' },
    workers: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '1024' },
  },
});
const ROWS = Number(values.rows);
const SEEDS = values.seeds!.split(',').map(Number);
const WORKERS = Number(values.workers);
const EPOCHS = Number(values.epochs);
const BATCH = Number(values.batch);
const BIN = fileURLToPath(new URL('../../bin/esmm.js', import.meta.url));

function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

function aucs(out: string): { ctr: number; ctcvr: number } {
  const m = (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { metrics: Record<string, number> }).metrics;
  return { ctr: m.auc_ctr!, ctcvr: m.auc_ctcvr! };
}

const dir = mkdtempSync(join(tmpdir(), 'esmm-bench-cluster-quality-'));
const cluster = await LocalCluster.start(3, 1);
console.log(`cluster quality: ${ROWS.toLocaleString('en-US')} simulated rows, ${EPOCHS} epochs, batch ${BATCH}, ${WORKERS} workers vs in-process; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log('seed | single ctr / ctcvr | store ctr / ctcvr | gap ctr / ctcvr');
try {
  const singles: { ctr: number; ctcvr: number }[] = [];
  for (const seed of SEEDS) {
    const cfg = join(dir, `s${seed}.yaml`);
    writeFileSync(cfg, [
      `data: { synth: { rows: ${ROWS}, seed: 5 } }`,
      'schema: synth',
      'model: { name: esmm, embedding_dim: 8, tower: [16] }',
      `train: { epochs: ${EPOCHS}, batch_size: ${BATCH}, learning_rate: 0.003, seed: ${seed}, early_stopping: false }`,
      '',
    ].join('\n'));
    const single = join(dir, `single${seed}`);
    const a = await run(['train', '--config', cfg, '--out', single, '--quiet']);
    if (a.code !== 0) throw new Error(`in-process run failed: ${a.stderr.slice(-2000)}`);
    const store = join(dir, `store${seed}`);
    const b = await run(['launch', '--workers', String(WORKERS), '--store', cluster.url, '--run-id', `q${seed}`, '--config', cfg, '--out', store, '--quiet']);
    if (b.code !== 0) throw new Error(`store run failed: ${b.stderr.slice(-2000)}`);
    const s = aucs(single);
    const t = aucs(store);
    singles.push(s);
    console.log(`${seed} | ${s.ctr.toFixed(4)} / ${s.ctcvr.toFixed(4)} | ${t.ctr.toFixed(4)} / ${t.ctcvr.toFixed(4)} | ${(t.ctr - s.ctr).toFixed(4)} / ${(t.ctcvr - s.ctcvr).toFixed(4)}`);
  }
  const range = (xs: number[]): number => Math.max(...xs) - Math.min(...xs);
  console.log(`single-process spread across seeds: ctr ${range(singles.map((x) => x.ctr)).toFixed(4)}, ctcvr ${range(singles.map((x) => x.ctcvr)).toFixed(4)}`);
  console.log(`load after: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
