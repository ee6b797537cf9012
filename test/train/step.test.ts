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
import { TrainStep, type TrainStepOptions } from '../../src/train/step.js';
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

async function setup(cfg: EsmmConfig, opts: TrainStepOptions = {}): Promise<Setup> {
  const spec = funnelSpec('esmm', cfg.schema);
  const mg = buildModelGraph(spec, layout, cfg.model, { training: true, seed: cfg.train.seed });
  const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
  const embeddings = EmbeddingSet.create(layout, ['shared'], { type: 'sgd', lr: 0.05 }, 3, 'sum');
  const step = await TrainStep.create(mg, params, embeddings, cfg, BATCH, opts);
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

describe('TrainStep with externalDense (the store workers\' gradient sync)', () => {
  const bits = (a: Float32Array): number[] => Array.from(new Int32Array(a.buffer, a.byteOffset, a.length));
  const rows = (s: Setup): Float32Array => (s.embeddings.tables.get('shared')![0] as unknown as { denseWeights(): Float32Array }).denseWeights();

  it('applying its own gradients is the JS optimizer\'s step, bit for bit; gradScale scales every gradient', async () => {
    const cfg = config({ clip_norm: 1e6 }); // the JS DenseOptimizer path, never clipping
    const js = await setup(cfg);
    const ext = await setup(cfg, { externalDense: true });
    const half = await setup(cfg, { externalDense: true });
    half.step.gradScale = 0.5;
    try {
      for (let k = 0; k < 4; k++) {
        const start = (k % 3) * BATCH;
        const batch = js.assembler.assemble(start, Math.min(ROWS, start + BATCH));
        const before = [...ext.params.values()].map((p) => p.slice());
        const rowsBefore = rows(ext);
        await js.step.run(batch);
        await ext.step.run(batch);
        if (k === 0) await half.step.run(batch);
        // Not applied yet: the parameters are untouched until applyDense.
        expect([...ext.params.values()].flatMap(bits)).toEqual(before.flatMap(bits));
        if (k === 0) {
          // The same first batch at gradScale 0.5: dense gradients exactly halved, rows moved half as far (SGD).
          ext.step.denseGradients.forEach((g, i) => expect(bits(half.step.denseGradients[i]!)).toEqual(bits(g.map((x) => 0.5 * x))));
          const moved = rows(ext).map((w, i) => w - rowsBefore[i]!);
          const movedHalf = rows(half).map((w, i) => w - rowsBefore[i]!);
          expect(maxAbsDiff(movedHalf, moved.map((x) => 0.5 * x))).toBeLessThan(1e-6);
          expect(maxAbsDiff(moved, new Float32Array(moved.length))).toBeGreaterThan(0);
        }
        ext.step.applyDense(ext.step.denseGradients);
        expect([...ext.params.values()].flatMap(bits)).toEqual([...js.params.values()].flatMap(bits));
        expect(bits(rows(ext))).toEqual(bits(rows(js)));
      }
      expect(ext.step.optimizer.steps).toBe(4);
      await expect(js.step.run(js.assembler.assemble(0, BATCH)).then(() => js.step.denseGradients)).rejects.toThrow(/externalDense/);
    } finally {
      await Promise.all([js.step.release(), ext.step.release(), half.step.release()]);
    }
  });

  it('gradScale is refused with the in-graph Adam (its update has run before the scale could apply)', async () => {
    const s = await setup(config({}));
    try {
      s.step.gradScale = 0.5;
      await expect(s.step.run(s.assembler.assemble(0, BATCH))).rejects.toThrow(/gradScale needs the dense gradients out of the graph/);
    } finally {
      await s.step.release();
    }
  });
});
