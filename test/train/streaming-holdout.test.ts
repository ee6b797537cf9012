/**
 * Streaming without data.valid: a hold-out is carved from the stream (data/stream-holdout.ts).
 * Every row has a unique id `rid` (a categorical feature), so the rows the trainer sees and the
 * rows validated on can be told apart by id.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/load-config.js';
import { trainAndEvaluateStreaming } from '../../src/api/stream-pipeline.js';
import type { EsmmConfig } from '../../src/config/types.js';
import { connectDuckDB, sqlString } from '../../src/data/duckdb.js';
import type { RunResult } from '../../src/api/pipeline.js';
import { writeStreamParts } from './stream-parts.js';

let dir: string;
const ROWS_PER_FILE = 7000;
const FILES = 3;
const ALL = FILES * ROWS_PER_FILE;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'esmm-stream-holdout-'));
  mkdirSync(join(dir, 'days'));
  await writeStreamParts(join(dir, 'days'), FILES, ROWS_PER_FILE, true);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(train: Record<string, unknown> = {}, holdout?: Record<string, unknown>): EsmmConfig {
  return parseConfig(
    {
      data: { train: 'days/*.parquet', ...(holdout !== undefined ? { holdout } : {}) },
      schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['rid', 'user_id'], numeric: ['price', 'ts'] },
      model: { name: 'esmm', embedding_dim: 4, tower: [8] },
      train: { epochs: 2, batch_size: 128, learning_rate: 0.003, seed: 3, streaming: true, memory_budget: '1MB', early_stopping: false, ...train },
    },
    'test',
    dir,
  );
}

interface Seen {
  /** rid values trained on, per epoch (in delivery order). */
  trained: string[][];
  /** rid values of the validation rows. */
  validated: string[];
  run: RunResult;
  logs: string[];
}

async function runAndWatch(cfg: EsmmConfig, opts: { outDir?: string; resume?: boolean; shouldStop?: () => boolean } = {}): Promise<Seen> {
  const ids: number[][] = [[]];
  const logs: string[] = [];
  const run = await trainAndEvaluateStreaming(cfg, {
    ...opts,
    log: (l) => logs.push(l),
    onWindow: (chunk, order) => {
      const rid = chunk.categorical[0]!;
      for (const i of order) ids[ids.length - 1]!.push(rid[i]!);
    },
    onEpoch: () => ids.push([]),
  });
  const values = run.features.spec.toJSON().categorical[0]!;
  if (values.encoding !== 'vocabulary') throw new Error('rid should be a vocabulary field');
  const name = (id: number): string => (id === 0 ? '<oov>' : values.values[id - 1]!);
  const valid = run.features.valid;
  return {
    trained: ids.filter((e) => e.length > 0).map((e) => e.map(name)),
    validated: valid === undefined ? [] : Array.from(valid.categorical[0]!, name),
    run,
    logs,
  };
}

describe('streaming hold-out (no data.valid)', () => {
  it('holds out about 10% of the rows by a seeded row hash, never trains on them and validates on them', async () => {
    const a = await runAndWatch(config());
    expect(a.validated.length).toBeGreaterThan(0.07 * ALL);
    expect(a.validated.length).toBeLessThan(0.13 * ALL);
    const held = new Set(a.validated);
    expect(held.size).toBe(a.validated.length);
    expect(a.trained.length).toBe(2);
    for (const epoch of a.trained) {
      // Every other row exactly once per epoch, no held-out row ever.
      expect(epoch.filter((r) => held.has(r))).toEqual([]);
      expect(new Set(epoch).size).toBe(epoch.length);
      expect(epoch.length + held.size).toBe(ALL);
    }
    // Early stopping has something to judge: every epoch is validated on the held-out rows.
    for (const record of a.run.result.history) expect(record.valid?.auc_ctr).toBeDefined();
    expect(a.run.evaluatedOn).toBe('valid');
    expect(a.logs.join('\n')).toMatch(/no validation file: holding out about \d+ of 21000 training rows \(random by row, seed 1; data\.holdout\), never trained on; validating on all of them/);

    // The same split in another run; another seed gives another split of about the same size.
    const b = await runAndWatch(config());
    expect(b.validated).toEqual(a.validated);
    expect(b.trained).toEqual(a.trained);
    const c = await runAndWatch(config({}, { seed: 2 }));
    expect(c.validated).not.toEqual(a.validated);
    expect(Math.abs(c.validated.length - a.validated.length)).toBeLessThan(0.05 * ALL);
  }, 180_000);

  it('keeps the split and the batches across --resume', async () => {
    // A small budget: many windows, so the resumed epoch skips whole windows (counting their kept rows) before the one it resumes in.
    const cfg = (): EsmmConfig => config({ checkpoint_every: 1000, memory_budget: '256KB' });
    const full = await runAndWatch(cfg(), { outDir: join(dir, 'full') });
    expect(full.validated.length).toBeGreaterThan(0.07 * ALL);
    let steps = 0;
    // Inside epoch 2 (about 148 batches per epoch): windows before it are skipped by counting kept rows.
    const cut = await runAndWatch(cfg(), { outDir: join(dir, 'cut'), shouldStop: () => ++steps === 230 });
    expect(cut.run.result.interrupted).toBe(true);
    const resumed = await runAndWatch(cfg(), { outDir: join(dir, 'cut'), resume: true });
    expect(resumed.run.result.resumedFromStep).toBe(230);
    expect(resumed.validated).toEqual(full.validated);
    expect(resumed.run.result.stepLoss).toEqual(full.run.result.stepLoss);
    for (const [name, v] of full.run.result.model.params) expect(Array.from(resumed.run.result.model.params.get(name)!), name).toEqual(Array.from(v));
    expect(resumed.run.metrics).toEqual(full.run.metrics);
    // The resumed epoch trained on no held-out row either.
    const held = new Set(full.validated);
    expect(resumed.trained.flat().filter((r) => held.has(r))).toEqual([]);
  }, 180_000);

  it('holds out the latest rows by data.holdout.time_column', async () => {
    const a = await runAndWatch(config({ epochs: 1 }, { time_column: 'ts' }));
    const ts = new Map<string, number>();
    const con = await connectDuckDB();
    try {
      const rows = await (await con.run(`SELECT rid, ts FROM read_parquet(${sqlString(join(dir, 'days', '*.parquet'))})`)).getRows();
      for (const [rid, t] of rows) ts.set(String(rid), Number(t));
    } finally {
      con.closeSync();
    }
    expect(a.validated.length).toBeGreaterThan(0.08 * ALL);
    expect(a.validated.length).toBeLessThan(0.12 * ALL);
    const oldestHeld = Math.min(...a.validated.map((r) => ts.get(r)!));
    const newestTrained = Math.max(...a.trained[0]!.map((r) => ts.get(r)!));
    expect(newestTrained).toBeLessThan(oldestHeld);
    expect(a.trained[0]!.length + a.validated.length).toBe(ALL);
    expect(a.logs.join('\n')).toMatch(/latest by ts \(ts >= \d+\)/);
  }, 120_000);

  it('caps the rows kept for validation at half the memory budget, and says so', async () => {
    // 64 KB: half of it holds about a thousand encoded rows, fewer than the ~2,100 held out.
    const a = await runAndWatch(config({ epochs: 1, memory_budget: '64KB' }));
    expect(a.validated.length).toBeGreaterThan(200);
    expect(a.validated.length).toBeLessThan(0.08 * ALL);
    const held = new Set(a.validated);
    expect(a.trained[0]!.filter((r) => held.has(r))).toEqual([]);
    // The held-out rows beyond the cap are not trained on either.
    expect(a.trained[0]!.length).toBeLessThan(0.93 * ALL);
    expect(a.logs.join('\n')).toMatch(/validating on \d+ of them \(capped at half of train\.memory_budget, 32 KB\)/);
  }, 120_000);

  it('holds nothing out with data.holdout: 0 (every row trained on)', async () => {
    const a = await runAndWatch(config({ epochs: 1 }, { fraction: 0 }));
    expect(a.validated).toEqual([]);
    expect(a.trained[0]!.length).toBe(ALL);
  }, 120_000);
});
