import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/load-config.js';
import { resolveTrainingConfig } from '../../src/api/resolve-config.js';
import { trainAndEvaluate } from '../../src/api/pipeline.js';
import { shouldStream, trainAndEvaluateStreaming } from '../../src/api/stream-pipeline.js';
import type { EsmmConfig } from '../../src/config/types.js';
import { encodedBytesPerRow, planBuffer, rawBytesPerRow } from '../../src/data/memory-budget.js';
import { readAll } from '../../src/data/reader.js';
import { newTimings } from '../../src/data/train-stream.js';
import { fitFeaturesSql } from '../../src/features/fit-sql.js';
import { FeatureSpec } from '../../src/features/spec.js';
import { writeSynth } from '../../src/synth/index.js';
import { runCli } from '../cli/helpers.js';
import { writeStreamParts } from './stream-parts.js';

let dir: string;
const ROWS_PER_FILE = 7000;
const FILES = 3;

/** Three Parquet files of rows with a unique id column `rid` (stream-parts.ts). */
async function writeParts(): Promise<void> {
  await writeStreamParts(join(dir, 'days'), FILES, ROWS_PER_FILE);
}

/** Without data.valid the stream holds rows out (streaming-holdout.test.ts); these tests stream every row (holdout: 0). */
function partsConfig(train: Record<string, unknown> = {}, out = 'days/*.parquet'): EsmmConfig {
  return parseConfig(
    {
      data: { train: out, holdout: 0 },
      schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['rid', 'user_id'], numeric: ['price'] },
      model: { name: 'esmm', embedding_dim: 4, tower: [8] },
      train: { epochs: 2, batch_size: 128, learning_rate: 0.003, seed: 3, streaming: true, memory_budget: '1MB', ...train },
    },
    'test',
    dir,
  );
}

/** rid -> times seen, per epoch, from the windows the trainer shuffles and cuts into batches. */
async function deliveredIds(config: EsmmConfig): Promise<{ perEpoch: number[][]; timings: ReturnType<typeof newTimings> }> {
  const perEpoch: number[][] = [[]];
  let rows = 0;
  const timings = newTimings();
  await trainAndEvaluateStreaming(config, {
    timings,
    onWindow: (chunk, order) => {
      if (rows === FILES * ROWS_PER_FILE) {
        perEpoch.push([]);
        rows = 0;
      }
      const rid = chunk.categorical[0]!;
      for (const i of order) perEpoch[perEpoch.length - 1]!.push(rid[i]!);
      rows += chunk.rows;
    },
  });
  return { perEpoch, timings };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'esmm-stream-'));
  mkdirSync(join(dir, 'days'));
  await writeParts();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('streaming training', () => {
  it('reads every row exactly once per epoch, in a seeded order', async () => {
    const a = await deliveredIds(partsConfig());
    expect(a.perEpoch.length).toBe(2);
    for (const ids of a.perEpoch) {
      expect(ids.length).toBe(FILES * ROWS_PER_FILE);
      const sorted = Int32Array.from(ids).sort();
      // Vocabulary ids 1..N, each once: no row lost or repeated, no row mapped to OOV.
      expect(sorted[0]).toBe(1);
      expect(new Set(ids).size).toBe(FILES * ROWS_PER_FILE);
    }
    expect(a.timings.rowsDelivered).toBe(2 * FILES * ROWS_PER_FILE);
    // The step's own split of the training time (bench/scale.ts prints it) is filled and within it.
    const st = a.timings.step!;
    expect(st.steps).toBeGreaterThanOrEqual(Math.ceil(a.timings.rowsDelivered / partsConfig().train.batch_size));
    expect(st.ort).toBeGreaterThan(0);
    expect(st.gather + st.ort + st.dense + st.sparse).toBeLessThanOrEqual(a.timings.train * 1000);
    // Shuffled across files and blocks, and differently in each epoch.
    expect(a.perEpoch[0]!.slice(0, 50)).not.toEqual(a.perEpoch[1]!.slice(0, 50));
    const firstWindow = a.perEpoch[0]!.slice(0, 1000);
    expect(Math.max(...firstWindow) - Math.min(...firstWindow)).toBeGreaterThan(2000);

    const b = await deliveredIds(partsConfig());
    expect(b.perEpoch).toEqual(a.perEpoch);
    const c = await deliveredIds(partsConfig({ seed: 4 }));
    expect(c.perEpoch[0]).not.toEqual(a.perEpoch[0]);
  }, 120_000);

  it('train.shuffle false reads every epoch in the files\' stored order, the same for any seed', async () => {
    const prices: number[][] = [[]];
    let rows = 0;
    const a = await deliveredIds(partsConfig({ shuffle: false }));
    await trainAndEvaluateStreaming(partsConfig({ shuffle: false }), {
      onWindow: (chunk, order) => {
        if (rows === FILES * ROWS_PER_FILE) {
          prices.push([]);
          rows = 0;
        }
        for (const i of order) prices[prices.length - 1]!.push(chunk.numeric[i]!);
        rows += chunk.rows;
      },
    });
    expect(a.perEpoch.length).toBe(2);
    expect(a.perEpoch[1]).toEqual(a.perEpoch[0]);
    expect(new Set(a.perEpoch[0]).size).toBe(FILES * ROWS_PER_FILE);
    expect((await deliveredIds(partsConfig({ shuffle: false, seed: 4 }))).perEpoch).toEqual(a.perEpoch);
    // Row i of the files (numbered across them, part-0 first) has price i % 13 (stream-parts.ts), a
    // numeric feature encoded monotonically: in stored order it rises for 12 rows and drops on the 13th.
    expect(prices.length).toBe(2);
    for (const p of prices) {
      expect(p.length).toBe(FILES * ROWS_PER_FILE);
      const breaks = p.flatMap((x, i) => (i > 0 && !((x > p[i - 1]!) === (i % 13 !== 0)) ? [i] : []));
      expect(breaks).toEqual([]);
    }
  }, 120_000);

  it('holds at most one shuffle window of the budget, on data larger than the budget', async () => {
    const config = partsConfig({ memory_budget: '256KB', epochs: 1 });
    const files = [0, 1, 2].map((f) => join(dir, 'days', `part-${f}.parquet`));
    const fit = await fitFeaturesSql(files, { schema: config.schema });
    const enc = encodedBytesPerRow(config.schema, fit.spec.categoricalFields.length, fit.spec.numericFields.length, 0, false);
    const plan = planBuffer(config.train.memory_budget!, rawBytesPerRow(config.schema, 0), enc, 128);
    // The data's encoded rows alone exceed the budget (256 KB) ...
    expect(fit.rows * enc).toBeGreaterThan(config.train.memory_budget!);
    const timings = newTimings();
    await trainAndEvaluateStreaming(config, { timings });
    // ... but the trainer never held more than one window and one block.
    expect(timings.maxWindowRows).toBeLessThanOrEqual(plan.windowRows);
    expect(timings.maxWindowRows).toBeLessThan(fit.rows / 2);
    expect(timings.maxBlockRows).toBeLessThanOrEqual(plan.blockRows);
    expect(plan.peakBytes).toBeLessThanOrEqual(config.train.memory_budget!);
  }, 120_000);

  it('resumes after an interrupt to the same weights as an uninterrupted run', async () => {
    const full = await trainAndEvaluateStreaming(partsConfig({ checkpoint_every: 1000 }), { outDir: join(dir, 'full') });
    let steps = 0;
    // 250 steps: inside epoch 2, in the middle of a window (windows are not multiples of the batch).
    const cut = await trainAndEvaluateStreaming(partsConfig({ checkpoint_every: 1000 }), { outDir: join(dir, 'cut'), shouldStop: () => ++steps === 250 });
    expect(cut.result.interrupted).toBe(true);
    const resumed = await trainAndEvaluateStreaming(partsConfig({ checkpoint_every: 1000 }), { outDir: join(dir, 'cut'), resume: true });
    expect(resumed.result.resumedFromStep).toBe(250);
    expect(resumed.result.stepLoss).toEqual(full.result.stepLoss);
    for (const [name, v] of full.result.model.params) expect(Array.from(resumed.result.model.params.get(name)!), name).toEqual(Array.from(v));
    expect(resumed.metrics).toEqual(full.metrics);
  }, 180_000);

  it('train.lr_decay: epoch 1 as without it, epoch 2 moves the weights less (the streaming trainer decays too)', async () => {
    const run = async (train: Record<string, unknown>): Promise<Float64Array[]> => {
      const seen: Float64Array[] = [];
      await trainAndEvaluateStreaming(partsConfig({ optimizer: 'sgd', embedding_optimizer: 'sgd', learning_rate: 0.05, ...train }), {
        onEpoch: (_r, model) => {
          seen.push(Float64Array.from([...model.params.values()].flatMap((v) => [...v])));
        },
      });
      return seen;
    };
    const plain = await run({});
    const decayed = await run({ lr_decay: 0.5 });
    expect(Array.from(decayed[0]!)).toEqual(Array.from(plain[0]!));
    const move = (w: Float64Array[]): number => Math.hypot(...w[1]!.map((x, i) => x - w[0]![i]!));
    expect(move(decayed) / move(plain)).toBeLessThan(0.75);
    expect(move(decayed) / move(plain)).toBeGreaterThan(0.25);
  }, 120_000);

  it('refuses a glob matching nothing and a bad memory_budget, naming the key', async () => {
    await expect(trainAndEvaluate(partsConfig({}, 'nothing/*.parquet'))).rejects.toThrow(/nothing\/\*\.parquet.*data\.train.*no file matches/);
    expect(() => partsConfig({ memory_budget: 'lots' })).toThrow(/train\.memory_budget.*expected a size/);
  });

  it('esmm train --streaming --memory-budget streams and writes the model', async () => {
    const cfg = join(dir, 'cli.yaml');
    writeFileSync(cfg, [
      "data: { train: 'days/*.parquet' }",
      'schema: { labels: { click: click, buy: buy }, categorical: [rid, user_id], numeric: [price] }',
      'model: { name: esmm, embedding_dim: 4, tower: [8] }',
      'train: { epochs: 1, batch_size: 128, seed: 3 }',
      '',
    ].join('\n'));
    const out = join(dir, 'cli-out');
    const r = await runCli(['train', '--config', cfg, '--streaming', '--memory-budget', '1MB', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/streaming 21000 rows/);
    // The effective optimizers and the compute are said on this path too (issue 17, issue 14).
    expect(r.stderr).toMatch(/^optimizers: dense adam lr 0\.001; embeddings adagrad lr 0\.01 \(10x train\.learning_rate\)$/m);
    expect(r.stderr).toMatch(/^compute: 1 worker, \d+ onnxruntime threads?/m);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { streamed?: { rows: number; memory_budget: number } };
    expect(metrics.streamed).toMatchObject({ rows: 21000, memory_budget: 1024 ** 2 });
  }, 120_000);

  it('streams by itself only when memory_budget is set and the data would exceed it', async () => {
    expect(await shouldStream(partsConfig({ streaming: undefined, memory_budget: '256KB' }))).toBe(true);
    expect(await shouldStream(partsConfig({ streaming: undefined, memory_budget: '1GB' }))).toBe(false);
    expect(await shouldStream(partsConfig({ streaming: undefined, memory_budget: undefined }))).toBe(false);
    expect(await shouldStream(partsConfig({ streaming: false, memory_budget: '256KB' }))).toBe(false);
  });

  it('resolves schema patterns against the first file of a glob', async () => {
    const config = await resolveTrainingConfig(
      { data: { train: 'days/*.parquet' }, schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['*_id'], numeric: ['price'] } },
      'test',
      dir,
    );
    expect(config.schema.categorical).toEqual(['user_id']);
  });

  it('reads a glob of files in memory too (streaming off)', async () => {
    const r = await trainAndEvaluate(partsConfig({ streaming: false, epochs: 1 }));
    // Every row of the glob is read; without data.valid a slice of them is held out to validate.
    expect(r.data.train.rows + (r.data.valid?.rows ?? 0)).toBe(FILES * ROWS_PER_FILE);
  }, 120_000);
});

describe('features fitted with DuckDB aggregates', () => {
  it('equal FeatureSpec.fit on the same rows (vocabularies with min_count, moments, quantile cuts, multi-valued)', async () => {
    const synthDir = join(dir, 'synth');
    await writeSynth(synthDir, { rows: 6000, seed: 9 });
    const config = parseConfig({ data: { train: join(synthDir, 'train.csv') }, schema: 'synth' }, 'test', dir);
    const cfg = { min_count: 2, fields: { item_price: { transform: 'quantile' as const, buckets: 7 }, user_id: { min_count: 3 } } };
    const file = join(synthDir, 'train.csv');
    const memory = FeatureSpec.fit(config.schema, (await readAll(file, { schema: config.schema })).data, cfg).toJSON();
    const sql = (await fitFeaturesSql([file], { schema: config.schema }, cfg)).spec.toJSON();
    expect(sql.categorical).toEqual(memory.categorical);
    expect(sql.multiValued).toEqual(memory.multiValued);
    expect(sql.numeric.length).toBe(memory.numeric.length);
    sql.numeric.forEach((n, i) => {
      const m = memory.numeric[i]!;
      if (m.transform === 'quantile') expect(n).toEqual(m);
      else if (n.transform === 'standardize_tanh') {
        expect(n.mean).toBeCloseTo(m.mean, 9);
        expect(n.std).toBeCloseTo(m.std, 9);
      }
    });
  }, 60_000);

  it('streaming training reaches the AUC of in-memory training on the same simulated data', async () => {
    const synthDir = join(dir, 'synth-auc');
    await writeSynth(synthDir, { rows: 30000, seed: 5 });
    const base = {
      // Both runs train on every training row for 2 epochs (no held-out slice, no early stopping).
      data: { train: join(synthDir, 'train.csv'), test: join(synthDir, 'test.csv'), holdout: 0 },
      schema: 'synth',
      model: { name: 'esmm', embedding_dim: 8, tower: [16] },
      train: { epochs: 2, batch_size: 256, learning_rate: 0.003, seed: 1, early_stopping: false },
    };
    const memory = await trainAndEvaluate(parseConfig(base, 'test', dir));
    const timings = newTimings();
    const streamed = await trainAndEvaluate(parseConfig({ ...base, train: { ...base.train, streaming: true, memory_budget: '2MB' } }, 'test', dir), { timings } as never);
    expect(streamed.summary.streamed).toBeDefined();
    const m = memory.metrics;
    const s = streamed.metrics;
    expect(s.auc_ctr!).toBeGreaterThan(0.6);
    expect(Math.abs(s.auc_ctr! - m.auc_ctr!)).toBeLessThan(0.02);
    expect(Math.abs(s.auc_ctcvr! - m.auc_ctcvr!)).toBeLessThan(0.03);
  }, 180_000);
});
