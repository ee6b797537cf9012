/**
 * GradNorm (loss_weighting: gradnorm): the weight update against hand computations, the graph's
 * per-task gradient-norm outputs against central finite differences (float64 through ORT), short
 * ESMM and ESM2 runs (weights move, stay positive, sum to the task count, losses finite), and
 * resuming from a TrainStep state or a trainer checkpoint continues exactly.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/load-config.js';
import { DEFAULT_MODEL } from '../../src/config/defaults.js';
import type { Schema } from '../../src/data/schema.js';
import { rowsToRawChunk } from '../../src/data/rows.js';
import { FeatureSpec } from '../../src/features/spec.js';
import { encodeModel } from '../../src/graph/onnx.js';
import { buildModelGraph, LOSS_WEIGHTS_INPUT } from '../../src/models/build-graph.js';
import { EmbeddingSet } from '../../src/models/embeddings.js';
import type { FeatureLayout } from '../../src/models/layout.js';
import { funnelSpec } from '../../src/models/registry.js';
import { layoutOf } from '../../src/models/layout-of.js';
import { GraphSession, type Feeds } from '../../src/runtime/session.js';
import { BatchAssembler } from '../../src/data/batch-assembler.js';
import { CHECKPOINT_DIR } from '../../src/train/checkpoint.js';
import { GradNorm, gradNormUpdate, MIN_WEIGHT } from '../../src/train/gradnorm.js';
import { TrainStep } from '../../src/train/step.js';
import { trainFunnel } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/random.js';

const schema: Schema = { labels: { click: 'click', buy: 'buy', actions: ['cart'] }, categorical: ['user', 'item', 'cat'], numeric: ['price'] };

function rows(n: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const u = rng.int(6);
    const it = rng.int(5);
    const click = rng.next() < 0.25 + 0.1 * (u % 3) ? 1 : 0;
    const cart = click === 1 && rng.next() < 0.4 + 0.1 * (it % 3) ? 1 : 0;
    const buy = click === 1 && rng.next() < (cart === 1 ? 0.6 : 0.15) ? 1 : 0;
    return { user: `u${u}`, item: `i${it}`, cat: `c${it % 2}`, price: rng.normal(), click, cart, buy };
  });
}

function setupConfig(name: string, train: Record<string, unknown> = {}, gradnorm: Record<string, unknown> = { alpha: 1.5, lr: 0.05 }) {
  const config = parseConfig({
    data: { train: 'unused.csv' },
    schema,
    model: { name, embedding_dim: 3, tower: [6], loss_weighting: 'gradnorm', gradnorm },
    train: { batch_size: 32, learning_rate: 0.01, seed: 3, threads: 1, epochs: 3, ...train },
  }, 'test', '.');
  const raw = rowsToRawChunk(rows(128, 5), config.schema);
  const features = FeatureSpec.fit(config.schema, raw);
  return { config, features, data: features.transform(raw) };
}

const close = (a: number[], b: number[], tol = 1e-12): void => {
  expect(a).toHaveLength(b.length);
  a.forEach((x, i) => expect(Math.abs(x - b[i]!)).toBeLessThan(tol));
};

describe('GradNorm weight update', () => {
  it('two tasks: matches the hand computation', () => {
    // G = [2, 1], mean 1.5; L/L0 = [0.5, 0.9], mean 0.7, r = [5/7, 9/7]; targets 1.5 r^1.5 = [0.906, 2.187];
    // sign(G - G*) = [+1, -1], grad = [2, -1]; w = [1 - 0.2, 1 + 0.1] = [0.8, 1.1]; renormalised to sum 2.
    const w = gradNormUpdate([1, 1], [2, 1], [0.5, 0.9], [1, 1], { alpha: 1.5, lr: 0.1 });
    close(w, [0.8 * 2 / 1.9, 1.1 * 2 / 1.9]);
  });

  it('three tasks: matches the hand computation', () => {
    // G = [2, 1, 0.75], mean 1.25; L/L0 = [1, 0.5, 1.5], r = [1, 0.5, 1.5]; alpha 1: targets [1.25, 0.625, 1.875];
    // sign = [+1, +1, -1], grad = [4, 1, -0.5]; w = [0.3, 0.95, 1.525] (sum 2.775) -> x 3 / 2.775.
    const w = gradNormUpdate([0.5, 1, 1.5], [4, 1, 0.5], [0.6, 0.3, 0.9], [0.6, 0.6, 0.6], { alpha: 1, lr: 0.05 });
    close(w, [0.3, 0.95, 1.525].map((x) => (x * 3) / 2.775));
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(3, 12);
  });

  it('clamps a weight that would go negative, then renormalises', () => {
    // G = [5, 1.95], equal targets 3.475; grad = [100, -1]: w0 = 0.05 - 10 -> MIN_WEIGHT, w1 = 2.05.
    const w = gradNormUpdate([0.05, 1.95], [100, 1], [1, 1], [1, 1], { alpha: 0, lr: 0.1 });
    const sum = MIN_WEIGHT + 2.05;
    close(w, [(MIN_WEIGHT * 2) / sum, (2.05 * 2) / sum]);
    expect(w[0]!).toBeGreaterThan(0);
  });

  it('GradNorm keeps L(0) from the first update and writes only the task entries', () => {
    const gn = new GradNorm([0, 2], [1, 0.7, 3], { alpha: 1.5, lr: 0.1 });
    expect(gn.current).toEqual([0.5, 1.5]); // starts on sum w = 2
    gn.update([1, 1], [1, 1]);
    expect(gn.state().initialLosses).toEqual([1, 1]);
    const into = new Float32Array([9, 0.7, 9]);
    gn.write(into);
    expect(into[1]).toBeCloseTo(0.7, 6);
    expect(into[0]! + into[2]!).toBeCloseTo(2, 6);
    const before = gn.current;
    gn.update([Number.NaN, 1], [1, 1]); // non-finite input: no change
    expect(gn.current).toEqual(before);
    expect(() => gn.restore({ weights: [1], initialLosses: null })).toThrow(RangeError);
  });
});

describe('GradNorm graph outputs', () => {
  it('each task gradient norm ||dL_i/d emb|| matches central finite differences (float64)', async () => {
    const layout: FeatureLayout = { dim: 3, categorical: ['a', 'b', 'c'].map((name) => ({ name, size: 5 })), multiValued: [], numericDim: 1 };
    const spec = funnelSpec('esmm', { labels: { click: 'click', buy: 'buy' }, categorical: ['a', 'b', 'c'], numeric: ['x'] });
    const mg = buildModelGraph(spec, layout, { ...DEFAULT_MODEL, embedding_dim: 3, tower: [5], activation: 'tanh', loss_weighting: 'gradnorm' }, { training: true, seed: 4, dtype: 'float64' });
    expect(mg.gradNorms!.map((x) => x.loss)).toEqual(['ctr', 'ctcvr']);
    const lossOut = mg.gradNorms!.map((x) => `loss_${x.loss}`);
    const normOut = mg.gradNorms!.map((x) => x.output);
    const session = await GraphSession.create(encodeModel(mg.graph, { paramsAs: 'initializers', outputs: [...lossOut, ...normOut] }), { intraOpThreads: 1 });
    const B = 4;
    const width = mg.embInputs[0]!.width;
    const rng = new Rng(11);
    const emb = Float64Array.from({ length: B * width }, () => rng.normal() * 0.5);
    const feeds = (e: Float64Array): Feeds => ({
      [mg.embInputs[0]!.input]: { data: e, dims: [B, width] },
      numeric: { data: Float64Array.from({ length: B }, () => 0.3), dims: [B, 1] },
      label_click: { data: Float64Array.from([1, 0, 1, 1]), dims: [B, 1] },
      label_buy: { data: Float64Array.from([1, 0, 0, 1]), dims: [B, 1] },
      [LOSS_WEIGHTS_INPUT]: { data: Float64Array.from([0.7, 1.3]), dims: [2] },
    });
    const base = await session.runTensors(feeds(emb));
    const h = 1e-6;
    const sq = [0, 0];
    for (let j = 0; j < emb.length; j++) {
      const plus = Float64Array.from(emb);
      const minus = Float64Array.from(emb);
      plus[j]! += h;
      minus[j]! -= h;
      const [p, m] = [await session.runTensors(feeds(plus), lossOut), await session.runTensors(feeds(minus), lossOut)];
      lossOut.forEach((name, k) => {
        const d = (Number(p[name]!.data[0]) - Number(m[name]!.data[0])) / (2 * h);
        sq[k]! += d * d;
      });
    }
    normOut.forEach((name, k) => {
      const got = Number(base[name]!.data[0]);
      expect(got).toBeGreaterThan(0);
      expect(Math.abs(got - Math.sqrt(sq[k]!))).toBeLessThan(1e-6 * Math.max(1, got));
    });
    await session.release();
  });

  it('fixed weighting adds no gradient-norm outputs', () => {
    const layout: FeatureLayout = { dim: 2, categorical: [{ name: 'a', size: 3 }], multiValued: [], numericDim: 0 };
    const spec = funnelSpec('esmm', { labels: { click: 'click', buy: 'buy' }, categorical: ['a'], numeric: [] });
    const mg = buildModelGraph(spec, layout, { ...DEFAULT_MODEL, embedding_dim: 2, tower: [3] }, { training: true, seed: 1 });
    expect(mg.gradNorms).toBeUndefined();
    expect(mg.graph.outputs().some((o) => o.name.startsWith('gradnorm/'))).toBe(false);
  });
});

describe('GradNorm training', () => {
  async function stepSetup(name: string) {
    const { config, features, data } = setupConfig(name);
    const spec = funnelSpec(name, config.schema);
    const layout = layoutOf(features, config.model.embedding_dim);
    const mg = buildModelGraph(spec, layout, config.model, { training: true, seed: 3 });
    const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
    const embeddings = EmbeddingSet.create(layout, ['shared'], { type: 'sgd', lr: 0.05 }, 3, 'sum');
    const step = await TrainStep.create(mg, params, embeddings, config, 32);
    const assembler = new BatchAssembler(data, 32, mg.labelInputs.map((l) => l.key));
    const run = async (s: TrainStep, from: number, n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let k = from; k < from + n; k++) {
        const start = (k % 4) * 32;
        out.push((await s.run(assembler.assemble(start, start + 32), 0)).loss!);
      }
      return out;
    };
    return { config, mg, params, embeddings, step, run };
  }

  for (const [name, tasks] of [['esmm', 2], ['esm2', 4]] as const) { // esm2: ctr, action, ctcvr, ctacvr
    it(`${name}: the weights move, stay positive and sum to ${tasks}; losses stay finite`, async () => {
      const s = await stepSetup(name);
      expect(s.mg.gradNorms).toHaveLength(tasks);
      expect(Array.from(s.step.lossWeights)).toEqual(Array(tasks).fill(1));
      const losses = await s.run(s.step, 0, 12);
      expect(losses.every(Number.isFinite)).toBe(true);
      const w = Array.from(s.step.lossWeights);
      expect(w.every((x) => Number.isFinite(x) && x > 0)).toBe(true);
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(tasks, 5);
      expect(Math.max(...w.map((x) => Math.abs(x - 1)))).toBeGreaterThan(0.01);
      expect(Array.from(s.step.lastGradNorms).every((g) => Number.isFinite(g) && g > 0)).toBe(true);
      await s.step.release();
    });
  }

  it('a TrainStep restored from optimizer + loss-weight state continues exactly', async () => {
    const whole = await stepSetup('esmm');
    const expected = await whole.run(whole.step, 0, 10);
    const first = await stepSetup('esmm');
    await first.run(first.step, 0, 4);
    const opt = first.step.getOptimizerState();
    const lw = first.step.getLossWeightState()!;
    expect(lw.initialLosses).toHaveLength(2);
    await first.step.release();
    const resumed = await TrainStep.create(first.mg, first.params, first.embeddings, first.config, 32);
    resumed.setOptimizerState(opt);
    resumed.setLossWeightState(JSON.parse(JSON.stringify(lw)) as typeof lw); // as in a checkpoint
    expect(await first.run(resumed, 4, 6)).toEqual(expected.slice(4));
    expect(Array.from(resumed.lossWeights)).toEqual(Array.from(whole.step.lossWeights));
    expect(resumed.getLossWeightState()).toEqual(whole.step.getLossWeightState());
    await whole.step.release();
    await resumed.release();
  });

  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('trainer checkpoints keep the weights: kill after 3 steps, resume, same run as uninterrupted', async () => {
    const { config, features, data } = setupConfig('esm2', { checkpoint_every: 1 });
    const full = await trainFunnel(config, features, data, undefined, { maxSteps: 7 });
    const dir = mkdtempSync(join(tmpdir(), 'esmm-gradnorm-'));
    dirs.push(dir);
    await trainFunnel(config, features, data, undefined, { maxSteps: 3, checkpointDir: dir });
    const state = JSON.parse(readFileSync(join(dir, CHECKPOINT_DIR, 'state.json'), 'utf8')) as { position: { globalStep: number; lossWeights?: { weights: number[]; initialLosses: number[] } } };
    expect(state.position.globalStep).toBe(3);
    const w = state.position.lossWeights!.weights;
    expect(w).toHaveLength(4);
    expect(w.some((x) => Math.abs(x - 1) > 1e-6)).toBe(true);
    const resumed = await trainFunnel(config, features, data, undefined, { maxSteps: 7, checkpointDir: dir, resume: true });
    expect(resumed.resumedFromStep).toBe(3);
    expect(resumed.stepLoss).toEqual(full.stepLoss);
    for (const [p, v] of full.model.params) expect(Array.from(resumed.model.params.get(p)!)).toEqual(Array.from(v));
    await full.model.release();
    await resumed.model.release();
  });
});
