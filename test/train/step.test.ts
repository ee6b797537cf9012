/**
 * TrainStep: the dense update inside the ORT graph (Adam, AdamW) must match the JavaScript
 * DenseOptimizer (forced here with a clip_norm too large to clip), its state must save and
 * restore exactly, and the JS path (SGD) and smaller final batches must keep working.
 */
import { describe, expect, it } from 'vitest';
import type { EncodedChunk } from '../../src/data/batch.js';
import type { EsmmConfig } from '../../src/config/types.js';
import { DEFAULT_MODEL, DEFAULT_TRAIN } from '../../src/config/defaults.js';
import { buildModelGraph, type ModelGraph } from '../../src/models/build-graph.js';
import { EmbeddingSet } from '../../src/models/embeddings.js';
import type { FeatureLayout } from '../../src/models/layout.js';
import { funnelSpec } from '../../src/models/registry.js';
import { BatchAssembler } from '../../src/data/batch-assembler.js';
import { TrainStep } from '../../src/train/step.js';
import { Rng } from '../../src/util/random.js';

const FIELDS = 3;
const VOCAB = 12;
const ROWS = 96;
const BATCH = 40; // 96 rows: batches of 40, 40 and 16

const layout: FeatureLayout = {
  dim: 4,
  categorical: Array.from({ length: FIELDS }, (_, f) => ({ name: `f${f}`, size: VOCAB })),
  multiValued: [],
  numericDim: 1,
};

function data(): EncodedChunk {
  const rng = new Rng(7);
  const categorical = Array.from({ length: FIELDS }, () => Int32Array.from({ length: ROWS }, () => rng.int(VOCAB)));
  const click = Float32Array.from({ length: ROWS }, (_, i) => (rng.next() < 0.3 + 0.05 * (categorical[0]![i]! % 4) ? 1 : 0));
  const buy = Float32Array.from(click, (c, i) => (c === 1 && rng.next() < 0.3 + 0.1 * (categorical[1]![i]! % 3) ? 1 : 0));
  const numeric = Float32Array.from({ length: ROWS }, () => rng.normal());
  return { rows: ROWS, categorical, multiValued: [], numeric, labels: { click, buy, actions: new Map() }, truth: new Map() };
}

function config(train: Partial<EsmmConfig['train']>, dropout = 0): EsmmConfig {
  return {
    data: {},
    schema: { labels: { click: 'click', buy: 'buy' }, categorical: layout.categorical.map((f) => f.name), numeric: ['x'] },
    features: {},
    model: { ...DEFAULT_MODEL, embedding_dim: layout.dim, tower: [16, 8], dropout },
    train: { ...DEFAULT_TRAIN, batch_size: BATCH, learning_rate: 0.01, embedding_optimizer: 'sgd', embedding_learning_rate: 0.05, threads: 1, seed: 3, ...train },
    baseDir: '.',
    source: 'test',
  };
}

interface Setup {
  mg: ModelGraph;
  params: Map<string, Float32Array>;
  embeddings: EmbeddingSet;
  step: TrainStep;
  assembler: BatchAssembler;
}

async function setup(cfg: EsmmConfig): Promise<Setup> {
  const spec = funnelSpec('esmm', cfg.schema);
  const mg = buildModelGraph(spec, layout, cfg.model, { training: true, seed: cfg.train.seed });
  const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
  const embeddings = EmbeddingSet.create(layout, ['shared'], { type: 'sgd', lr: 0.05 }, 3, 'sum');
  const step = await TrainStep.create(mg, params, embeddings, cfg, BATCH);
  return { mg, params, embeddings, step, assembler: new BatchAssembler(data(), BATCH, mg.labelInputs.map((l) => l.key)) };
}

/** Runs `steps` steps cycling over the data (last batch of an epoch is short); returns the losses. */
async function train(s: Setup, steps: number, from = 0, dropout = 0): Promise<number[]> {
  const losses: number[] = [];
  const perEpoch = Math.ceil(ROWS / BATCH);
  for (let k = from; k < from + steps; k++) {
    const start = (k % perEpoch) * BATCH;
    const batch = s.assembler.assemble(start, Math.min(ROWS, start + BATCH));
    losses.push((await s.step.run(batch, dropout)).loss!);
  }
  return losses;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('TrainStep dense optimizer', () => {
  for (const [name, opt] of [
    ['adam', { optimizer: 'adam', weight_decay: 0 }],
    ['adam with L2 weight decay', { optimizer: 'adam', weight_decay: 0.05 }],
    ['adamw', { optimizer: 'adamw', weight_decay: 0.1 }],
  ] as const) {
    it(`${name} inside the graph matches the JavaScript optimizer`, async () => {
      const inGraph = await setup(config(opt));
      const inJs = await setup(config({ ...opt, clip_norm: 1e9 }));
      expect(inGraph.step.denseInGraph).toBe(true);
      expect(inJs.step.denseInGraph).toBe(false);
      const a = await train(inGraph, 12);
      const b = await train(inJs, 12);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
      expect(a[0]! - a[a.length - 1]!).toBeGreaterThan(0.01); // it learns, so the comparison means something
      for (const [p, v] of inGraph.params) expect(maxAbsDiff(v, inJs.params.get(p)!)).toBeLessThan(1e-5);
      const sa = inGraph.step.getOptimizerState();
      const sb = inJs.step.getOptimizerState();
      expect(sa.step).toBe(12);
      expect(sb.step).toBe(12);
      expect(sa.buffers.length).toBe(sb.buffers.length);
      sa.buffers.forEach((m, k) => expect(maxAbsDiff(m, sb.buffers[k]!)).toBeLessThan(1e-5));
      await inGraph.step.release();
      await inJs.step.release();
    });
  }

  it('in-graph Adam state saves and restores exactly (a new step on the same graph resumes)', async () => {
    const whole = await setup(config({}));
    const expected = await train(whole, 10);
    const first = await setup(config({}));
    await train(first, 4);
    const state = first.step.getOptimizerState();
    await first.step.release();
    const resumed = await TrainStep.create(first.mg, first.params, first.embeddings, config({}), BATCH);
    resumed.setOptimizerState(state);
    expect(resumed.optimizer.steps).toBe(4);
    const rest = await train({ ...first, step: resumed }, 6, 4);
    expect(rest).toEqual(expected.slice(4));
    for (const [p, v] of whole.params) expect(Array.from(first.params.get(p)!)).toEqual(Array.from(v));
    await whole.step.release();
    await resumed.release();
  });

  it('restoring a state of the wrong shape throws', async () => {
    const s = await setup(config({}));
    expect(() => s.step.setOptimizerState({ step: 1, buffers: [new Float32Array(3)] })).toThrow(RangeError);
    await s.step.release();
  });

  it('SGD runs in JavaScript and learns; dropout masks are fed', async () => {
    const s = await setup(config({ optimizer: 'sgd', learning_rate: 0.1 }, 0.2));
    expect(s.step.denseInGraph).toBe(false);
    expect(s.mg.maskInputs.length).toBeGreaterThan(0);
    const losses = await train(s, 30, 0, 0.2);
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
    expect(mean(losses.slice(-6))).toBeLessThan(mean(losses.slice(0, 6)));
    expect(s.step.timings.steps).toBe(30);
    await s.step.release();
  });
});
