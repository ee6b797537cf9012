/**
 * Scale benchmark (issue 14): an Ali-CCP-shaped data set of N rows (23 fields: 9 user, 4
 * multi-valued user-behaviour, 5 item, 4 cross, 1 context; skewed ids with up to millions of
 * distinct values) written to Parquet with DuckDB SQL, then one epoch of streaming ESMM training
 * at the paper setting (dim 18, towers 360-200-80, batch 2048). Prints rows/s, peak RSS (VmHWM)
 * and where the time went (fit, read, encode, train). The goal: peak RSS under 4 GB whatever N.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/scale.js [--rows 50000000] [--budget 1GB] [--dir DIR] [--keep]
 *
 * --in-memory: for comparison, load and encode the same rows the in-memory way (loadData +
 * prepareFeatures, no training) and print that peak RSS instead. --in-memory-train: also train
 * the same model for one epoch in memory on the same rows (no hold-out on either side) and print
 * its epoch throughput: the reference the streaming epoch is compared with. --holdout F sets
 * data.holdout (default 0.1 of the rows held out of the stream; 0: every row trained on).
 *
 * The data goes to a fresh folder under the system temp dir (or --dir, which must not exist) and
 * is removed afterwards unless --keep. --data DIR reuses the Parquet files of an earlier --keep
 * run (generation skipped, nothing removed; --rows must match).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/api/load-config.js';
import { trainAndEvaluateStreaming } from '../src/api/stream-pipeline.js';
import { loadData } from '../src/api/load-data.js';
import { prepareFeatures } from '../src/api/prepare-features.js';
import { trainModel } from '../src/api/train-model.js';
import { connectDuckDB, sqlString } from '../src/data/duckdb.js';
import { newTimings } from '../src/data/train-stream.js';

const { values } = parseArgs({
  options: { rows: { type: 'string' }, budget: { type: 'string' }, dir: { type: 'string' }, keep: { type: 'boolean' }, 'rows-per-file': { type: 'string' }, 'in-memory': { type: 'boolean' }, data: { type: 'string' }, 'in-memory-train': { type: 'boolean' }, holdout: { type: 'string' } },
});
const ROWS = Number(values.rows ?? 50_000_000);
const PER_FILE = Number(values['rows-per-file'] ?? 5_000_000);
const BUDGET = values.budget ?? '1GB';

/** Field name -> distinct values (before skew): ids are floor(u^3 * n), so a few are frequent and most rare. */
const SINGLE: Record<string, number> = {
  f101: 2_000_000, f121: 98, f122: 14, f124: 3, f125: 8, f126: 4, f127: 4, f128: 3, f129: 5,
  f205: 4_000_000, f206: 10_000, f207: 500_000, f210: 100_000, f216: 200_000,
  f508: 1_000_000, f509: 1_000_000, f702: 1_000_000, f853: 1_000_000, f301: 3,
};
const MULTI: Record<string, number> = { f109_14: 50_000, f110_14: 200_000, f127_14: 100_000, f150_14: 100_000 };

function vmHwmMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

/** Uniform in [0,1) from a row index and a salt (DuckDB's hash, so generation needs no RNG state). */
const u = (salt: number, expr = 'i'): string => `((hash(${expr} * 1000003 + ${salt}) % 1000000007) / 1000000007.0)`;

async function generate(dir: string): Promise<void> {
  const con = await connectDuckDB();
  try {
    for (let from = 0, part = 0; from < ROWS; from += PER_FILE, part++) {
      const to = Math.min(ROWS, from + PER_FILE);
      const single = Object.entries(SINGLE).map(([name, n], k) => `'${name}_' || floor(pow(${u(k + 1)}, 3) * ${n})::BIGINT AS ${name}`);
      // 1..8 items per cell, joined with '|'.
      const multi = Object.entries(MULTI).map(
        ([name, n], k) => `array_to_string(list_transform(range(1 + floor(${u(100 + k)} * 8)::BIGINT), j -> '${name}_' || floor(pow(((hash(i * 31 + j * 7 + ${k}) % 1000000007) / 1000000007.0), 3) * ${n})::BIGINT), '|') AS ${name}`,
      );
      // Click depends on the context and a user field, buy only after a click.
      const click = `(${u(200)} < 0.03 + 0.02 * (f301 = 'f301_0')::INT + 0.01 * (f121 < 'f121_3')::INT)::INT`;
      const sql = `SELECT *, ${click} AS click FROM (SELECT i, ${[...single, ...multi].join(', ')} FROM range(${from}, ${to}) t(i))`;
      const labelled = `SELECT * EXCLUDE (i), (click = 1 AND ${u(300)} < 0.06)::INT AS buy FROM (${sql})`;
      await con.run(`COPY (${labelled}) TO ${sqlString(join(dir, `part-${String(part).padStart(4, '0')}.parquet`))} (FORMAT parquet)`);
      process.stderr.write(`\rgenerated ${to} rows`);
    }
    process.stderr.write('\n');
  } finally {
    con.closeSync();
  }
}

function trainSplit(t: ReturnType<typeof newTimings>): Record<string, number> | undefined {
  const st = t.step;
  if (st === undefined) return undefined;
  const s = (ms: number): number => +(ms / 1000).toFixed(1);
  return { gather: s(st.gather), ort: s(st.ort), dense: s(st.dense), sparse_update: s(st.sparse), handoff: s(st.handoff), assemble_etc: s(t.train * 1000 - st.gather - st.ort - st.dense - st.sparse - st.handoff) };
}

async function main(): Promise<void> {
  const reuse = values.data;
  const dir = reuse ?? values.dir ?? mkdtempSync(join(tmpdir(), 'esmm-scale-'));
  if (reuse === undefined && values.dir !== undefined) {
    if (existsSync(dir)) throw new Error(`${dir} exists; give a new folder`);
    mkdirSync(dir, { recursive: true });
  }
  try {
    const g0 = performance.now();
    if (reuse === undefined) await generate(dir);
    const genSeconds = (performance.now() - g0) / 1000;
    const rssAfterGen = vmHwmMb();
    const config = parseConfig(
      {
        // Without data.valid, streaming holds about 10% of the rows out to validate on; --holdout 0 trains on all.
        data: { train: join(dir, '*.parquet'), ...(values.holdout !== undefined ? { holdout: Number(values.holdout) } : {}) },
        schema: {
          labels: { click: 'click', buy: 'buy' },
          categorical: Object.keys(SINGLE),
          multi_valued: Object.keys(MULTI).map((name) => ({ name, separator: '|' })),
        },
        features: { min_count: 2 },
        model: { name: 'esmm', embedding_dim: 18, tower: [360, 200, 80] },
        train: { epochs: 1, batch_size: 2048, learning_rate: 0.001, seed: 1, streaming: true, memory_budget: BUDGET },
      },
      'bench/scale',
      dir,
    );
    if (values['in-memory'] === true || values['in-memory-train'] === true) {
      const t = performance.now();
      const data = await loadData({ ...config.data, holdout: { fraction: 0, seed: 1 } }, config.schema, { baseDir: dir });
      const prepared = prepareFeatures(config.schema, data, config.features);
      const prepSeconds = (performance.now() - t) / 1000;
      const out: Record<string, unknown> = { mode: 'in-memory load + fit + encode', rows: prepared.train.rows, prepare_s: +prepSeconds.toFixed(1) };
      if (values['in-memory-train'] === true) {
        const cpu0 = process.cpuUsage();
        const r = await trainModel({ ...config, train: { ...config.train, streaming: false } }, prepared);
        const cpu = process.cpuUsage(cpu0);
        const epoch = r.history[0]!;
        Object.assign(out, { mode: 'in-memory load + fit + encode + one epoch', epoch_s: +epoch.seconds.toFixed(1), rows_per_s_epoch: Math.round(prepared.train.rows / epoch.seconds), cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(1), train_loss: epoch.train.loss });
        await r.model.release();
      }
      Object.assign(out, { peak_rss_mb: Math.round(vmHwmMb()), load: loadavg().map((x) => +x.toFixed(1)) });
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    const timings = newTimings();
    let fitSeconds = 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let lastLog = 0;
    const r = await trainAndEvaluateStreaming(config, {
      timings,
      log: (line) => {
        if (line.startsWith('streaming')) fitSeconds = (performance.now() - t0) / 1000;
        process.stderr.write(`${line}\n`);
      },
      onProgress: (p) => {
        const now = performance.now();
        if (now - lastLog < 10_000) return;
        lastLog = now;
        process.stderr.write(`step ${p.step}/${p.stepsPerEpoch} ${Math.round(p.samplesPerSecond)} rows/s, VmHWM ${Math.round(vmHwmMb())} MB\n`);
      },
    });
    const total = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const epoch = r.result.history[0]!;
    process.stdout.write(
      `${JSON.stringify({
        rows: ROWS,
        memory_budget: BUDGET,
        generate_s: +genSeconds.toFixed(1),
        fit_s: +fitSeconds.toFixed(1),
        epoch_s: +epoch.seconds.toFixed(1),
        // Rows trained on (the hold-out, about 10% of ROWS, is not), per second of the training loop.
        rows_trained: timings.rowsDelivered,
        rows_per_s_epoch: Math.round(timings.rowsDelivered / epoch.seconds),
        rows_per_s_total: Math.round(ROWS / total),
        cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(1),
        split_s: { read: +timings.read.toFixed(1), encode: +timings.encode.toFixed(1), train: +timings.train.toFixed(1) },
        // train's own split: embedding gather (+ feeds), the ORT run, dense and sparse update; the rest is batch assembly.
        train_split_s: trainSplit(timings),
        max_window_rows: timings.maxWindowRows,
        vocab_sizes: r.features.spec.categoricalFields.concat(r.features.spec.multiValuedFields).reduce((s, f) => s + f.size, 0),
        peak_rss_mb: Math.round(vmHwmMb()),
        peak_rss_after_generate_mb: Math.round(rssAfterGen),
        train_loss: epoch.train.loss,
        valid_rows: r.features.valid?.rows ?? 0,
        valid_auc_ctr: epoch.valid?.auc_ctr,
        cores: cpus().length,
        load: loadavg().map((x) => +x.toFixed(1)),
      })}\n`,
    );
    await r.result.model.release();
  } finally {
    if (values.keep !== true && reuse === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
