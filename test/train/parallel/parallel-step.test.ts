/**
 * Data-parallel training (train.workers, src/train/parallel): N = 2 worker threads must train the
 * same model as 1 worker at the same batch size (loss curve, final AUC, weights) within float
 * tolerance, never lose or double an update of an embedding row both slices touch, resume from a
 * checkpoint exactly, and refuse the settings it cannot train the same with one line naming
 * train.workers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/api/load-config.js';
import { configOverrides } from '../../../src/cli/overrides.js';
import type { EsmmConfig } from '../../../src/config/types.js';
import { BatchAssembler } from '../../../src/data/batch-assembler.js';
import type { EncodedChunk } from '../../../src/data/batch.js';
import { rowsToRawChunk } from '../../../src/data/rows.js';
import type { Schema } from '../../../src/data/schema.js';
import { FeatureSpec } from '../../../src/features/spec.js';
import { buildModelGraph } from '../../../src/models/build-graph.js';
import { EmbeddingSet } from '../../../src/models/embeddings.js';
import { embeddingGroups } from '../../../src/models/funnel-spec.js';
import { layoutOf } from '../../../src/models/layout-of.js';
import { funnelSpec } from '../../../src/models/registry.js';
import { ShardedTrainStep } from '../../../src/train/parallel/sharded-step.js';
import { sparseOptimizerConfig, TrainStep } from '../../../src/train/step.js';
import { trainFunnel } from '../../../src/train/trainer.js';
import { Rng } from '../../../src/util/random.js';

const schema: Schema = {
  labels: { click: 'click', buy: 'buy' },
  categorical: ['user', 'item'],
  multi_valued: [{ name: 'recent', separator: '|' }],
  numeric: ['price'],
};

function rows(n: number, seed: number): Record<string, unknown>[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const u = rng.int(9);
    const it = rng.int(7);
    const click = rng.next() < 0.2 + 0.06 * (it % 4) ? 1 : 0;
    const buy = click === 1 && rng.next() < 0.2 + 0.1 * (u % 3) ? 1 : 0;
    const recent = Array.from({ length: 1 + rng.int(3) }, () => `r${rng.int(5)}`).join('|');
    return { user: `u${u}`, item: `i${it}`, recent, price: rng.normal(), click, buy };
  });
}

function config(model: Record<string, unknown>, train: Record<string, unknown>): EsmmConfig {
  return parseConfig({
    data: { train: 'unused.csv' },
    schema,
    model: { embedding_dim: 4, tower: [8, 4], ...model },
    train: { batch_size: 45, learning_rate: 0.01, seed: 5, threads: 1, epochs: 2, ...train },
  }, 'test', '.');
}

const raw = rowsToRawChunk(rows(230, 1), schema); // 230 rows: batches of 45 (slices of 23 and 22) and a last one of 5 (3 and 2)
const rawValid = rowsToRawChunk(rows(200, 2), schema);
const features = FeatureSpec.fit(schema, raw);
const train = features.transform(raw);
const valid = features.transform(rawValid);

async function trainWith(model: Record<string, unknown>, workers: number, extra: Record<string, unknown> = {}, opts: Parameters<typeof trainFunnel>[4] = {}) {
  return trainFunnel(config(model, { workers, ...extra }), features, train, valid, opts);
}

function closeArrays(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  expect(worst).toBeLessThan(tol);
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('train.workers: 2 trains the same model as 1 worker', () => {
  it.each([
    ['esmm with dropout', { name: 'esmm', dropout: 0.3 }],
    ['esmm with DIN attention pooling', { name: 'esmm', pooling: { recent: { type: 'attention', target: 'item', max_len: 2 } } }],
    ['aitm (calibrator)', { name: 'aitm' }],
    ['escm2_dr (plain IPW weights) with an mmoe bottom', { name: 'escm2_dr', escm2: { self_normalize: false }, bottom: { type: 'mmoe', experts: 2, expert: [4] } }],
    ['esmm with uncertainty weighting and per-tower layer norm', { name: 'esmm', loss_weighting: 'uncertainty', towers: { ctr: { type: 'mlp', sizes: [6], norm: 'layer' } } }],
    ['esmm, AdamW and Adagrad embeddings', { name: 'esmm' }, { optimizer: 'adamw', embedding_optimizer: 'adagrad' }],
    ['esmm, SGD with clip_norm (clipping the merged gradient)', { name: 'esmm' }, { optimizer: 'sgd', learning_rate: 0.1, clip_norm: 0.05 }],
    ['esmm, plain SGD (the dense step striped across the workers)', { name: 'esmm' }, { optimizer: 'sgd', learning_rate: 0.1 }],
    ['esmm, mean pooling, frequency-aware embedding L2, Adam embeddings', { name: 'esmm', multi_valued_pooling: 'mean' }, { embedding_optimizer: 'adam', embedding_l2: 0.01, embedding_l2_frequency: true }],
    ['esmm with 3 workers (3 shards, uneven slices)', { name: 'esmm', dropout: 0.2 }, { workers: 3 }],
    ['naive_cvr (its CVR loss is a mean over the batch\'s clicked rows: click shares, not row shares)', { name: 'naive_cvr' }],
    ['naive_cvr with uncertainty weighting, 3 workers (slices of 15 rows, the last batch\'s of 2, 2 and 1)', { name: 'naive_cvr', loss_weighting: 'uncertainty' }, { workers: 3 }],
  ] as [string, Record<string, unknown>, Record<string, unknown>?][])('%s: loss curve, final AUCs and weights', async (_label, model, train = {}) => {
    const one = await trainWith(model, 1, { ...train, workers: 1 });
    const two = await trainWith(model, 2, train);
    expect(two.stepLoss).toHaveLength(one.stepLoss.length);
    closeArrays(two.stepLoss, one.stepLoss, 2e-4);
    const v1 = one.history.at(-1)!.valid!;
    const v2 = two.history.at(-1)!.valid!;
    for (const k of Object.keys(v1).filter((key) => key.startsWith('auc'))) expect(Math.abs(v2[k]! - v1[k]!), k).toBeLessThan(2e-3);
    for (const [name, p] of one.model.params) closeArrays(two.model.params.get(name)!, p, 2e-3);
  });

  it('a batch smaller than the worker count (3 workers, a last batch of 2 rows): the idle worker still updates its shard, with no stale gradient', async () => {
    const model = { name: 'esmm' };
    const one = await trainWith(model, 1, { batch_size: 57 }); // 230 rows: 4 batches of 57, then 2
    const three = await trainWith(model, 3, { batch_size: 57 });
    closeArrays(three.stepLoss, one.stepLoss, 2e-4);
    for (const [name, p] of one.model.params) closeArrays(three.model.params.get(name)!, p, 2e-3);
    const [t1, t3] = [one, three].map((r) => r.model.embeddings.tables.get('shared')![0]!);
    closeArrays(t3!.denseWeights(), t1!.denseWeights(), 2e-3);
  });

  it('early stopping picks the same best epoch and restores its weights', async () => {
    const model = { name: 'esmm' };
    const extra = { epochs: 4, learning_rate: 0.05, early_stopping: { metric: 'logloss_ctcvr', patience: 1 } };
    const one = await trainWith(model, 1, extra);
    const two = await trainWith(model, 2, extra);
    expect(one.stoppedEarly).toBe(true); // the setting does stop early (epoch 2 is worse than 1)
    expect(two.history.length).toBe(one.history.length);
    expect(two.bestEpoch).toBe(one.bestEpoch);
    expect(two.stoppedEarly).toBe(one.stoppedEarly);
    for (const [name, p] of one.model.params) closeArrays(two.model.params.get(name)!, p, 2e-3);
  });

  it('resumes a 2-worker run from its checkpoint to the same weights as an uninterrupted run', async () => {
    const model = { name: 'esmm', dropout: 0.2 };
    const full = await trainWith(model, 2);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esmm-workers-'));
    dirs.push(dir);
    const first = await trainWith(model, 2, { checkpoint_every: 2 }, { checkpointDir: dir, maxSteps: 7 });
    expect(first.stepLoss).toHaveLength(7);
    const resumed = await trainWith(model, 2, { checkpoint_every: 2 }, { checkpointDir: dir, resume: true });
    expect(resumed.resumedFromStep).toBe(6); // the last checkpoint (every 2 steps)
    expect(resumed.stepLoss).toEqual(full.stepLoss);
    for (const [name, p] of full.model.params) expect(Array.from(resumed.model.params.get(name)!), name).toEqual(Array.from(p));
  });

  it('a 1-worker checkpoint resumes with 2 workers (the optimizer state has the same layout)', async () => {
    const model = { name: 'esmm' };
    const full = await trainWith(model, 1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esmm-workers-'));
    dirs.push(dir);
    await trainWith(model, 1, { checkpoint_every: 3 }, { checkpointDir: dir, maxSteps: 3 });
    const resumed = await trainWith(model, 2, { checkpoint_every: 3 }, { checkpointDir: dir, resume: true });
    expect(resumed.resumedFromStep).toBe(3);
    closeArrays(resumed.stepLoss, full.stepLoss, 2e-4);
    for (const [name, p] of full.model.params) closeArrays(resumed.model.params.get(name)!, p, 2e-3);
  });

  it('refuses GradNorm and ESCM2\'s self-normalised risks with one line naming train.workers', async () => {
    await expect(trainWith({ name: 'esmm', loss_weighting: 'gradnorm' }, 2)).rejects.toThrow(/^key 'train\.workers': 2 workers cannot train model\.loss_weighting: gradnorm .*; set train\.workers: 1$/);
    await expect(trainWith({ name: 'escm2_ipw' }, 2)).rejects.toThrow(/^key 'train\.workers': 2 workers cannot train model 'escm2_ipw' with model\.escm2\.self_normalize .*; set train\.workers: 1$/);
  });

  it('takes --workers on the command line and refuses workers: 0 in the config', () => {
    expect(configOverrides('train', { workers: '2' })).toEqual({ train: { workers: 2 } });
    expect(() => config({}, { workers: 0 })).toThrow(/train\.workers/);
  });
});

describe('train.workers: 2 with a weighted multi-valued field (id:weight items)', () => {
  it('mean-pools by the weights and trains the same model as 1 worker', async () => {
    const weighted: Schema = { ...schema, multi_valued: [{ name: 'recent', separator: '|', weight_separator: ':' }] };
    const toWeighted = (rs: Record<string, unknown>[]): Record<string, unknown>[] => rs.map((r, i) => ({ ...r, recent: String(r.recent).split('|').map((x, j) => `${x}:${1 + ((i + j) % 3) / 2}`).join('|') }));
    const rawW = rowsToRawChunk(toWeighted(rows(230, 1)), weighted);
    const featuresW = FeatureSpec.fit(weighted, rawW);
    const trainW = featuresW.transform(rawW);
    expect(trainW.multiValued[0]!.weights).toBeDefined();
    const validW = featuresW.transform(rowsToRawChunk(toWeighted(rows(200, 2)), weighted));
    const cfg = (workers: number): EsmmConfig => parseConfig({
      data: { train: 'unused.csv' }, schema: weighted,
      model: { name: 'esmm', embedding_dim: 4, tower: [8, 4], multi_valued_pooling: 'mean' },
      train: { batch_size: 45, learning_rate: 0.01, seed: 5, threads: 1, epochs: 2, workers },
    }, 'test', '.');
    const one = await trainFunnel(cfg(1), featuresW, trainW, validW);
    const two = await trainFunnel(cfg(2), featuresW, trainW, validW);
    closeArrays(two.stepLoss, one.stepLoss, 2e-4);
    for (const [name, p] of one.model.params) closeArrays(two.model.params.get(name)!, p, 2e-3);
    const t1 = one.model.embeddings.tables.get('shared')![2]!;
    const t2 = two.model.embeddings.tables.get('shared')![2]!;
    expect(t2.allocatedRows()).toBe(t1.allocatedRows());
    closeArrays(t2.denseWeights(), t1.denseWeights(), 2e-3);
  });
});

describe('contention: both slices update the same embedding rows', () => {
  /** Every row has the same user, item and recent ids, so both slices hit the same table rows. */
  function hammerBatch(n: number): EncodedChunk {
    const e = features.transform(rowsToRawChunk(rows(n, 9).map((r, i) => ({ ...r, user: 'u1', item: 'i2', recent: 'r3|r3' , click: i % 3 === 0 ? 1 : 0, buy: i % 6 === 0 ? 1 : 0 })), schema));
    return e;
  }

  async function stepper(workers: number) {
    const cfg = config({ name: 'esmm' }, { embedding_optimizer: 'adagrad', workers });
    const spec = funnelSpec('esmm', cfg.schema);
    const layout = layoutOf(features, cfg.model.embedding_dim);
    const mg = buildModelGraph(spec, layout, cfg.model, { training: true, seed: cfg.train.seed });
    const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
    const embeddings = EmbeddingSet.create(layout, embeddingGroups(spec), sparseOptimizerConfig(cfg.train), cfg.train.seed, cfg.model.multi_valued_pooling, cfg.model.pooling);
    const step = workers === 1 ? await TrainStep.create(mg, params, embeddings, cfg, 40)
      : await ShardedTrainStep.create(mg, params, embeddings, cfg, 40, workers);
    return { step, params, embeddings, layout };
  }

  function row(emb: EmbeddingSet, field: number, id: number, dim: number): Float32Array {
    const out = new Float32Array(dim);
    emb.tables.get('shared')![field]!.gather(Int32Array.of(id), out, dim, 0);
    return out;
  }

  it('the sharded step: the merged update of a row hit by every row of both slices equals the 1-worker update (none lost, none doubled)', async () => {
    const data = hammerBatch(40);
    const one = await stepper(1);
    const two = await stepper(2);
    const before = [0, 1, 2].map((f) => row(one.embeddings, f, f === 2 ? data.multiValued[0]!.ids[0]! : data.categorical[f]![0]!, one.layout.dim));
    const assembler = new BatchAssembler(data, 40, ['click', 'buy']);
    for (let s = 0; s < 3; s++) {
      const l1 = await one.step.run(assembler.assemble(0, 40));
      const l2 = await two.step.run(assembler.assemble(0, 40));
      expect(Math.abs(l2.loss! - l1.loss!)).toBeLessThan(1e-5);
    }
    [0, 1, 2].forEach((f) => {
      const id = f === 2 ? data.multiValued[0]!.ids[0]! : data.categorical[f]![0]!;
      const r1 = row(one.embeddings, f, id, one.layout.dim);
      const r2 = row(two.embeddings, f, id, one.layout.dim);
      const d1 = r1.map((v, j) => v - before[f]![j]!);
      const d2 = r2.map((v, j) => v - before[f]![j]!);
      const norm = Math.hypot(...d1);
      expect(norm).toBeGreaterThan(1e-3); // the rows did move
      expect(Math.hypot(...d2.map((v, j) => v - d1[j]!)) / norm).toBeLessThan(1e-3);
    });
    for (const [name, p] of one.params) closeArrays(two.params.get(name)!, p, 1e-4);
    await one.step.release();
    await two.step.release();
  });
});
