/**
 * Does training through the Redis store change the model's quality? (issue 15: 2 workers through
 * a 3-node cluster should reach the single-process AUC within 0.005.) For each seed it trains the
 * same simulated set once in-process and once with `esmm launch --workers N` through a 3-master +
 * 3-replica loopback cluster, and prints the test-split CTR and CTCVR AUCs, the gaps, and the
 * spread of the single-process AUC across seeds (the noise floor any gap must be read against).
 * Not a test: it prints.
 *
 * `--no-shuffle` trains both with `train.shuffle: false`: every epoch in the rows' stored order, so
 * round r of the workers (rows dealt by index mod N, each worker's slice of the round in order) is
 * exactly the single process's batch r when the batch is a multiple of N. The gap then measures
 * the store alone (a row touched by two workers in one round updated by two pushes, float
 * summation order), not row-order noise.
 *
 * `--orders K` adds the noise floor that matters for a store run: N workers necessarily see the
 * rows in another order than the single process (each shuffles its own partition), so it trains
 * the single process of the first seed K more times on the same rows in K other orders (the
 * train file's lines permuted; same seed, same init) and prints how far its AUCs move.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/cluster-quality.js [--rows 400000] [--seeds 1,2] [--workers 2 (0: no store runs)] [--epochs 2] [--batch 1024] [--orders 0] [--no-shuffle] [--set train.KEY=VALUE|model.KEY=VALUE ...]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../src/distributed/local-cluster.js';
import { Rng } from '../src/util/random.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '400000' },
    seeds: { type: 'string', default: '1,2' },
    workers: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '1024' },
    orders: { type: 'string', default: '0' },
    'no-shuffle': { type: 'boolean', default: false },
    // Extra config keys, e.g. --set train.embedding_optimizer=sgd --set model.output_bias_init=zero.
    set: { type: 'string', multiple: true, default: [] },
  },
});
const ROWS = Number(values.rows);
const SEEDS = values.seeds!.split(',').map(Number);
const WORKERS = Number(values.workers);
const EPOCHS = Number(values.epochs);
const BATCH = Number(values.batch);
const ORDERS = Number(values.orders);
const SETS = (values.set ?? []).map((kv) => {
  const m = /^(train|model)\.(\w+)=(.+)$/.exec(kv);
  if (m === null) throw new Error(`--set expects train.KEY=VALUE or model.KEY=VALUE, got '${kv}'`);
  return { section: m[1]!, text: `, ${m[2]}: ${m[3]}` };
});
const extra = (section: string): string => SETS.filter((x) => x.section === section).map((x) => x.text).join('');
const SHUFFLE = (values['no-shuffle'] === true ? ', shuffle: false' : '') + extra('train');
const MODEL = `model: { name: esmm, embedding_dim: 8, tower: [16]${extra('model')} }`;
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
console.log(`cluster quality: ${ROWS.toLocaleString('en-US')} simulated rows, ${EPOCHS} epochs, batch ${BATCH}, ${WORKERS} workers vs in-process${values['no-shuffle'] === true ? ', no shuffle (stored order)' : ''}${SETS.map((x) => x.text).join('')}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log('seed | single ctr / ctcvr | store ctr / ctcvr | gap ctr / ctcvr');
try {
  const singles: { ctr: number; ctcvr: number }[] = [];
  for (const seed of SEEDS) {
    const cfg = join(dir, `s${seed}.yaml`);
    writeFileSync(cfg, [
      `data: { synth: { rows: ${ROWS}, seed: 5 } }`,
      'schema: synth',
      MODEL,
      `train: { epochs: ${EPOCHS}, batch_size: ${BATCH}, learning_rate: 0.003, seed: ${seed}, early_stopping: false${SHUFFLE} }`,
      '',
    ].join('\n'));
    const single = join(dir, `single${seed}`);
    const a = await run(['train', '--config', cfg, '--out', single, '--quiet']);
    if (a.code !== 0) throw new Error(`in-process run failed: ${a.stderr.slice(-2000)}`);
    const s = aucs(single);
    singles.push(s);
    if (WORKERS === 0) {
      // --workers 0: the single process only (with --orders, the noise floor alone).
      console.log(`${seed} | ${s.ctr.toFixed(4)} / ${s.ctcvr.toFixed(4)} | - | -`);
      continue;
    }
    const store = join(dir, `store${seed}`);
    const b = await run(['launch', '--workers', String(WORKERS), '--store', cluster.url, '--run-id', `q${seed}`, '--config', cfg, '--out', store, '--quiet']);
    if (b.code !== 0) throw new Error(`store run failed: ${b.stderr.slice(-2000)}`);
    const t = aucs(store);
    console.log(`${seed} | ${s.ctr.toFixed(4)} / ${s.ctcvr.toFixed(4)} | ${t.ctr.toFixed(4)} / ${t.ctcvr.toFixed(4)} | ${(t.ctr - s.ctr).toFixed(4)} / ${(t.ctcvr - s.ctcvr).toFixed(4)}`);
  }
  const range = (xs: number[]): number => Math.max(...xs) - Math.min(...xs);
  console.log(`single-process spread across seeds: ctr ${range(singles.map((x) => x.ctr)).toFixed(4)}, ctcvr ${range(singles.map((x) => x.ctcvr)).toFixed(4)}`);
  if (ORDERS > 0) await orderNoise(singles[0]!);
  console.log(`load after: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** The single process of the first seed on the same rows in ORDERS other orders (see the header). */
async function orderNoise(reference: { ctr: number; ctcvr: number }): Promise<void> {
  const data = join(dir, 'data');
  const made = await run(['synth', '--out', data, '--rows', String(ROWS), '--seed', '5', '--quiet']);
  if (made.code !== 0) throw new Error(`esmm synth failed: ${made.stderr.slice(-2000)}`);
  const [header, ...lines] = readFileSync(join(data, 'train.csv'), 'utf8').split('\n').filter((l) => l.length > 0);
  const results: { ctr: number; ctcvr: number }[] = [];
  console.log(`single process (seed ${SEEDS[0]}) on the same rows in other orders:`);
  for (let k = 0; k <= ORDERS; k++) {
    // k = 0 is the file as written: it must reproduce the seed's single-process run above.
    const idx = Int32Array.from(lines, (_, i) => i);
    if (k > 0) new Rng(1000 + k).shuffle(idx);
    const train = join(dir, `train-${k}.csv`);
    writeFileSync(train, `${header}\n${Array.from(idx, (i) => lines[i]).join('\n')}\n`);
    const cfg = join(dir, `order${k}.yaml`);
    writeFileSync(cfg, [
      `data: { train: ${train}, valid: ${join(data, 'valid.csv')}, test: ${join(data, 'test.csv')} }`,
      'schema: synth',
      MODEL,
      `train: { epochs: ${EPOCHS}, batch_size: ${BATCH}, learning_rate: 0.003, seed: ${SEEDS[0]}, early_stopping: false${SHUFFLE} }`,
      '',
    ].join('\n'));
    const out = join(dir, `order${k}`);
    const r = await run(['train', '--config', cfg, '--out', out, '--quiet']);
    if (r.code !== 0) throw new Error(`single-process run on order ${k} failed: ${r.stderr.slice(-2000)}`);
    const a = aucs(out);
    if (k > 0) results.push(a);
    console.log(`  order ${k}${k === 0 ? ' (as written)' : ''}: ${a.ctr.toFixed(4)} / ${a.ctcvr.toFixed(4)} (${(a.ctr - reference.ctr).toFixed(4)} / ${(a.ctcvr - reference.ctcvr).toFixed(4)} from the seed's run)`);
  }
  const stats = (xs: number[]): string => {
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, xs.length - 1));
    return `${Math.min(...xs).toFixed(4)}-${Math.max(...xs).toFixed(4)}, mean ${mean.toFixed(4)}, sd ${sd.toFixed(4)}`;
  };
  console.log(`  over ${results.length} other orders: ctr ${stats(results.map((x) => x.ctr))}; ctcvr ${stats(results.map((x) => x.ctcvr))}`);
}
