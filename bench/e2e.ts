/**
 * End-to-end training bench (issue 14): `esmm train` against the same training in PyTorch, each a
 * whole process on the same CSV files, ingest included.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/e2e.js [--rows 1000000] [--rounds 3] [--torch-threads 1,2]
 *        [--batch 2048] [--esmm-threads auto,1] [--keep] [--data DIR] [--no-torch]
 *
 * Data: `esmm synth` (the ground-truth funnel simulator) writes --rows training rows and rows/10
 * test rows as CSV (the simulator's own format; Debian's python3 has no pandas/pyarrow, so the
 * PyTorch side could not read Parquet) into a fresh temp folder, removed at the end unless --keep.
 * --data DIR reuses the train.csv/test.csv of a kept run (nothing is removed then).
 *
 * Ours: `node bin/esmm.js train --config CFG --out DIR` (ESMM, dim 18, towers 360-200-80, batch
 * --batch, Adam for towers and embeddings at 0.001, one epoch, no hold-out, early stopping off,
 * esmm's default threads, or each of --esmm-threads: `auto` = the default, N = train.threads N,
 * engine esmm_Nt): reads both files, fits the features, trains, evaluates on the test
 * file and writes the model. Theirs: bench/torch_e2e.py with --threads T does the same work in
 * PyTorch (see its docstring), saving its model with torch.save. Each run is timed by /usr/bin/time (wall, user + sys CPU of the
 * child and everything it waits for, peak RSS); runs are interleaved per round (ours, torch at
 * each thread count, ...), so slow minutes on a shared machine hit every engine alike.
 *
 * Prints one JSON line per run (with its ingest/train/rest split, epoch loss, test AUCs and the
 * 1-minute load average when it started), then a summary: per engine median [min, max] of wall
 * seconds, rows/s (training rows over the whole process's wall time) and CPU seconds per 1k
 * training rows, and the per-round ratio ours over PyTorch's best that round (rows/s, > 1: esmm
 * faster; key ENGINE_over_torch_best_rows_per_s per esmm engine). The losses and AUCs are a sanity check that both trained the same model, not a race.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PYTHON, torchMissing } from './torch.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string' },
    rounds: { type: 'string' },
    'torch-threads': { type: 'string' },
    batch: { type: 'string' },
    keep: { type: 'boolean' },
    data: { type: 'string' },
    'no-torch': { type: 'boolean' },
    'esmm-threads': { type: 'string' },
  },
});
const ROWS = Number(values.rows ?? 1_000_000);
const TEST_ROWS = Math.round(ROWS / 10);
const ROUNDS = Number(values.rounds ?? 3);
const BATCH = Number(values.batch ?? 2048);
const TORCH_THREADS = (values['torch-threads'] ?? '1,2').split(',').map(Number);
/** undefined: esmm's default ORT threads (the machine's cores), else train.threads. */
const ESMM_THREADS = (values['esmm-threads'] ?? 'auto').split(',').map((t) => (t === 'auto' ? undefined : Number(t)));
for (const [name, v] of [['rows', ROWS], ['rounds', ROUNDS], ['batch', BATCH], ...TORCH_THREADS.map((t) => ['torch-threads', t] as const), ...ESMM_THREADS.filter((t) => t !== undefined).map((t) => ['esmm-threads', t] as const)] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} takes positive integers, got ${String(v)}`);
}
const DIM = 18;
const TOWER = [360, 200, 80];
const LR = 0.001;
const SEED = 1;

/** dist/bench/e2e.js -> the repository root, where bin/ and bench/*.py live. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ESMM_BIN = join(ROOT, 'bin', 'esmm.js');
const TORCH_E2E = join(ROOT, 'bench', 'torch_e2e.py');
const GNU_TIME = '/usr/bin/time';

interface ChildRun {
  wallS: number;
  /** user + sys CPU seconds of the child and its waited-for descendants (all threads). */
  cpuS: number | undefined;
  maxRssMb: number | undefined;
  stdout: string;
  /** stderr lines with the seconds since the start at which each arrived. */
  lines: { t: number; text: string }[];
}

/**
 * Runs `cmd args` to completion under /usr/bin/time -o (its CPU and RSS figures go to a file, the
 * child's stderr stays its own). Without /usr/bin/time, a python3 wrapper reads the child's
 * rusage with os.wait4. Rejects with the child's stderr tail on a non-zero exit.
 */
function timed(cmd: string, args: string[], timeFile: string): Promise<ChildRun> {
  const [exe, argv] = existsSync(GNU_TIME)
    ? [GNU_TIME, ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args]]
    : [PYTHON, ['-c', WAIT4_WRAPPER, timeFile, cmd, ...args]];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(exe, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    const lines: { t: number; text: string }[] = [];
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      const t = (performance.now() - t0) / 1000;
      pending += s;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        lines.push({ t, text: pending.slice(0, nl) });
        pending = pending.slice(nl + 1);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallS = (performance.now() - t0) / 1000;
      if (pending !== '') lines.push({ t: wallS, text: pending });
      if (code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with code ${String(code)}:\n${lines.slice(-10).map((l) => l.text).join('\n')}`));
        return;
      }
      // GNU time: "%e %U %S %M" (seconds, seconds, seconds, KB); the wrapper writes the same fields.
      const f = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(/\s+/).map(Number) : [];
      const ok = f.length === 4 && f.every(Number.isFinite);
      resolve({ wallS, cpuS: ok ? f[1]! + f[2]! : undefined, maxRssMb: ok ? f[3]! / 1024 : undefined, stdout, lines });
    });
  });
}

/** argv: TIMEFILE CMD ARGS...; runs CMD, writes "wall user sys maxrss_kb" like GNU time's %e %U %S %M. */
const WAIT4_WRAPPER = [
  'import os, sys, time',
  't = time.monotonic()',
  'pid = os.fork()',
  'if pid == 0: os.execvp(sys.argv[2], sys.argv[2:])',
  '_, status, ru = os.wait4(pid, 0)',
  'open(sys.argv[1], "w").write(f"{time.monotonic() - t:.2f} {ru.ru_utime:.2f} {ru.ru_stime:.2f} {ru.ru_maxrss}\\n")',
  'sys.exit(os.waitstatus_to_exitcode(status))',
].join('\n');

const load1 = (): number => +loadavg()[0]!.toFixed(2);
const r3 = (x: number | undefined | null, digits = 3): number | null => (x === undefined || x === null ? null : +x.toFixed(digits));

interface RunLine {
  bench: 'e2e';
  round: number;
  engine: string;
  load_1m: number;
  wall_s: number;
  rows_per_s: number;
  cpu_s: number | null;
  cpu_s_per_1k_rows: number | null;
  max_rss_mb: number | null;
  /** Seconds: start to end of ingest (process start-up included), the training, the rest (eval, saving the model). */
  split: { ingest_s: number | null; train_s: number | null; rest_s: number | null; epoch_s?: number | null };
  epoch_loss: number | null;
  last_step_loss: number | null;
  auc_ctr: number | null;
  auc_ctcvr: number | null;
}

function runLine(round: number, engine: string, load: number, c: ChildRun): Omit<RunLine, 'split' | 'epoch_loss' | 'last_step_loss' | 'auc_ctr' | 'auc_ctcvr'> {
  return {
    bench: 'e2e',
    round,
    engine,
    load_1m: load,
    wall_s: r3(c.wallS)!,
    rows_per_s: Math.round(ROWS / c.wallS),
    cpu_s: r3(c.cpuS),
    cpu_s_per_1k_rows: c.cpuS === undefined ? null : r3((c.cpuS * 1000) / ROWS, 5),
    max_rss_mb: c.maxRssMb === undefined ? null : Math.round(c.maxRssMb),
  };
}

/** One `esmm train` process on the files; the split comes from the times its log lines arrived. */
async function ours(round: number, dir: string, config: string, threads: number | undefined): Promise<RunLine> {
  const engine = threads === undefined ? 'esmm' : `esmm_${threads}t`;
  const out = join(dir, `${engine}-run-${round}`);
  const load = load1();
  const c = await timed(process.execPath, [ESMM_BIN, 'train', '--config', config, '--out', out], join(dir, `time-${engine}-${round}.txt`));
  // "features fitted on N train rows, M rows encoded in S s" ends ingest; "epoch 1/1 ..." ends training.
  const at = (re: RegExp): number | undefined => c.lines.find((l) => re.test(l.text))?.t;
  const ingestEnd = at(/^features fitted/);
  const epochEnd = at(/^epoch 1\/1\b/);
  const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')) as { history: { seconds: number; train: { loss: number } }[]; step_loss: number[] };
  const metrics = (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { metrics: Record<string, number> }).metrics;
  rmSync(out, { recursive: true, force: true }); // written by this bench's own esmm train
  const epoch = history.history[0];
  return {
    ...runLine(round, engine, load, c),
    split: {
      ingest_s: r3(ingestEnd),
      train_s: ingestEnd !== undefined && epochEnd !== undefined ? r3(epochEnd - ingestEnd) : null,
      rest_s: epochEnd !== undefined ? r3(c.wallS - epochEnd) : null,
      epoch_s: r3(epoch?.seconds),
    },
    epoch_loss: r3(epoch?.train.loss, 5),
    last_step_loss: r3(history.step_loss[history.step_loss.length - 1], 5),
    auc_ctr: r3(metrics.auc_ctr, 4),
    auc_ctcvr: r3(metrics.auc_ctcvr, 4),
  };
}

interface TorchLine {
  ingest_s: number;
  train_s: number;
  eval_s: number;
  epoch_loss: number;
  last_step_loss: number;
  auc_ctr: number | null;
  auc_ctcvr: number | null;
  torch: string;
  steps: number;
}

/** One bench/torch_e2e.py process; its split is its own clock, start-up (python, import torch) folded into ingest. */
async function theirs(round: number, dir: string, train: string, test: string, threads: number): Promise<RunLine & { torch: string; steps: number }> {
  const load = load1();
  const model = join(dir, `torch-model-${threads}-${round}.pt`);
  const args = [TORCH_E2E, '--train', train, '--test', test, '--out', model, '--threads', String(threads), '--batch', String(BATCH), '--dim', String(DIM), '--tower', TOWER.join(','), '--lr', String(LR), '--seed', String(SEED)];
  const c = await timed(PYTHON, args, join(dir, `time-torch-${threads}-${round}.txt`));
  const text = c.stdout.trim().split('\n').pop() ?? '';
  const t = JSON.parse(text) as TorchLine;
  rmSync(model, { force: true }); // written by this bench's own torch_e2e.py
  const startup = c.wallS - (t.ingest_s + t.train_s + t.eval_s);
  return {
    ...runLine(round, `torch_${threads}t`, load, c),
    split: { ingest_s: r3(startup + t.ingest_s), train_s: r3(t.train_s), rest_s: r3(t.eval_s) },
    epoch_loss: r3(t.epoch_loss, 5),
    last_step_loss: r3(t.last_step_loss, 5),
    auc_ctr: r3(t.auc_ctr, 4),
    auc_ctcvr: r3(t.auc_ctcvr, 4),
    torch: t.torch,
    steps: t.steps,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (xs: number[], digits: number): { median: number; min: number; max: number } | null =>
  xs.length === 0 ? null : { median: +median(xs).toFixed(digits), min: +Math.min(...xs).toFixed(digits), max: +Math.max(...xs).toFixed(digits) };

/** Writes the simulated set with `esmm synth` (ROWS train rows, TEST_ROWS test rows, no valid rows). */
async function generate(dir: string): Promise<{ train: string; test: string; seconds: number }> {
  const total = ROWS + TEST_ROWS;
  const out = join(dir, 'data');
  const c = await timed(process.execPath, [ESMM_BIN, 'synth', '--out', out, '--rows', String(total), '--split', `${ROWS / total},0,${TEST_ROWS / total}`, '--seed', '7', '--quiet'], join(dir, 'time-synth.txt'));
  return { train: join(out, 'train.csv'), test: join(out, 'test.csv'), seconds: c.wallS };
}

async function main(): Promise<void> {
  const missing = values['no-torch'] === true ? 'skipped (--no-torch)' : torchMissing();
  console.log(JSON.stringify({ bench: 'machine', cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, load_avg: loadavg().map((x) => +x.toFixed(2)), gnu_time: existsSync(GNU_TIME) }));
  if (missing !== undefined) console.log(JSON.stringify({ bench: 'torch', skipped: true, reason: missing }));
  const dir = mkdtempSync(join(tmpdir(), 'esmm-e2e-'));
  try {
    let files: { train: string; test: string; seconds?: number };
    if (values.data !== undefined) {
      files = { train: join(values.data, 'train.csv'), test: join(values.data, 'test.csv') };
      for (const f of [files.train, files.test]) if (!existsSync(f)) throw new Error(`--data: ${f} not found (a folder kept by --keep holds data/train.csv and data/test.csv)`);
    } else {
      process.stderr.write(`writing ${ROWS} training and ${TEST_ROWS} test rows with esmm synth ...\n`);
      files = await generate(dir);
    }
    console.log(
      JSON.stringify({
        bench: 'data', format: 'csv', train: files.train, test: files.test, train_rows: ROWS, test_rows: TEST_ROWS,
        train_mb: +(statSync(files.train).size / 2 ** 20).toFixed(1), test_mb: +(statSync(files.test).size / 2 ** 20).toFixed(1),
        ...(files.seconds !== undefined ? { synth_s: +files.seconds.toFixed(2) } : {}),
      }),
    );
    /** One config per --esmm-threads entry; JSON is YAML: the settings torch_e2e.py gets as flags. */
    const configFor = (threads: number | undefined): string => {
      const config = join(dir, `e2e-${threads ?? 'auto'}.yaml`);
      const train = { epochs: 1, batch_size: BATCH, learning_rate: LR, embedding_optimizer: 'adam', embedding_learning_rate: LR, optimizer: 'adam', seed: SEED, early_stopping: false, ...(threads !== undefined ? { threads } : {}) };
      const cfg = { data: { train: files.train, test: files.test, holdout: { fraction: 0 } }, schema: 'synth', model: { name: 'esmm', embedding_dim: DIM, tower: TOWER }, train };
      writeFileSync(config, JSON.stringify(cfg, null, 2) + '\n');
      return config;
    };
    const configs = ESMM_THREADS.map((t) => ({ threads: t, config: configFor(t) }));

    const runs: RunLine[] = [];
    /** Per esmm engine: its rows/s over PyTorch's best rows/s, one per round. */
    const ratios = new Map<string, number[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      const oursRuns: RunLine[] = [];
      for (const { threads, config } of configs) {
        process.stderr.write(`round ${round}/${ROUNDS}: esmm train${threads === undefined ? '' : ` (train.threads ${threads})`} ...\n`);
        const o = await ours(round, dir, config, threads);
        runs.push(o);
        oursRuns.push(o);
        console.log(JSON.stringify(o));
      }
      if (missing !== undefined) continue;
      let best = 0;
      for (const t of TORCH_THREADS) {
        process.stderr.write(`round ${round}/${ROUNDS}: torch_e2e.py --threads ${t} ...\n`);
        const r = await theirs(round, dir, files.train, files.test, t);
        runs.push(r);
        best = Math.max(best, r.rows_per_s);
        console.log(JSON.stringify(r));
      }
      for (const o of oursRuns) ratios.set(o.engine, [...(ratios.get(o.engine) ?? []), o.rows_per_s / best]);
    }

    const summary: Record<string, unknown> = { bench: 'e2e_summary', train_rows: ROWS, test_rows: TEST_ROWS, rounds: ROUNDS, batch: BATCH, load_1m: spread(runs.map((r) => r.load_1m), 2) };
    for (const engine of [...new Set(runs.map((r) => r.engine))]) {
      const rs = runs.filter((r) => r.engine === engine);
      const nums = (f: (r: RunLine) => number | null | undefined): number[] => rs.map(f).filter((x): x is number => typeof x === 'number');
      summary[engine] = {
        wall_s: spread(nums((r) => r.wall_s), 2),
        rows_per_s: spread(nums((r) => r.rows_per_s), 0),
        cpu_s_per_1k_rows: spread(nums((r) => r.cpu_s_per_1k_rows), 5),
        ingest_s: spread(nums((r) => r.split.ingest_s), 2),
        train_s: spread(nums((r) => r.split.train_s), 2),
        rest_s: spread(nums((r) => r.split.rest_s), 2),
        epoch_loss: spread(nums((r) => r.epoch_loss), 5),
        auc_ctr: spread(nums((r) => r.auc_ctr), 4),
        auc_ctcvr: spread(nums((r) => r.auc_ctcvr), 4),
      };
    }
    for (const [engine, rs] of ratios) {
      summary[`${engine}_over_torch_best_rows_per_s`] = spread(rs, 3);
      summary[`${engine}_per_round_ratio`] = rs.map((x) => +x.toFixed(3));
    }
    console.log(JSON.stringify(summary));
  } finally {
    if (values.keep === true) console.log(JSON.stringify({ bench: 'kept', dir, reuse: `--data ${join(dir, 'data')}` }));
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
