/**
 * The engine (ONNX graph + autodiff + ORT + sparse tables + dense optimizer) must follow the same
 * loss curve as a plain-TypeScript float64 implementation of ESMM's forward and backward pass,
 * from the same initial weights on the same data.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/load-config.js';
import { rowsToRawChunk } from '../../src/data/rows.js';
import { FeatureSpec } from '../../src/features/spec.js';
import { buildModelGraph } from '../../src/models/build-graph.js';
import { EmbeddingSet } from '../../src/models/embeddings.js';
import { layoutOf } from '../../src/models/layout-of.js';
import { funnelSpec } from '../../src/models/registry.js';
import { trainFunnel } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/random.js';

const LR = 0.05;
const STEPS = 20;
const HIDDEN = 8;
const DIM = 4;

function makeData(n: number, seed: number) {
  const rng = new Rng(seed);
  const rows = [];
  for (let i = 0; i < n; i++) {
    const u = rng.int(6);
    const it = rng.int(5);
    const click = rng.next() < 0.2 + 0.1 * (u % 3) ? 1 : 0;
    const buy = click === 1 && rng.next() < 0.2 + 0.15 * (it % 2) ? 1 : 0;
    rows.push({ user: `u${u}`, item: `i${it}`, ctx: `c${rng.int(3)}`, price: rng.normal() * 3 + 10, click, buy });
  }
  return rows;
}

/** Plain float64 ESMM: two ReLU towers on [embeddings | numerics], BCE(click, pCTR) + BCE(buy, pCTR pCVR). */
function referenceLosses(x0: { emb: Float64Array[]; params: Map<string, Float64Array> }, ids: Int32Array[], numeric: Float32Array, click: Float32Array, buy: Float32Array, n: number): number[] {
  const F = ids.length;
  const nNum = numeric.length / n;
  const width = F * DIM + nNum;
  const emb = x0.emb.map((t) => Float64Array.from(t));
  const P = new Map([...x0.params].map(([k, v]) => [k, Float64Array.from(v)]));
  const sig = (a: number): number => 1 / (1 + Math.exp(-a));
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const x = new Float64Array(n * width);
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < F; f++) for (let d = 0; d < DIM; d++) x[i * width + f * DIM + d] = emb[f]![ids[f]![i]! * DIM + d]!;
      for (let k = 0; k < nNum; k++) x[i * width + F * DIM + k] = numeric[i * nNum + k]!;
    }
    const fwd = (t: string) => {
      const W1 = P.get(`tower_${t}/l0/W`)!, b1 = P.get(`tower_${t}/l0/b`)!, W2 = P.get(`tower_${t}/head/W`)!, b2 = P.get(`tower_${t}/head/b`)!;
      const pre = new Float64Array(n * HIDDEN);
      const h = new Float64Array(n * HIDDEN);
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < HIDDEN; j++) {
          let s = b1[j]!;
          for (let k = 0; k < width; k++) s += x[i * width + k]! * W1[k * HIDDEN + j]!;
          pre[i * HIDDEN + j] = s;
          h[i * HIDDEN + j] = Math.max(0, s);
        }
        let s = b2[0]!;
        for (let j = 0; j < HIDDEN; j++) s += h[i * HIDDEN + j]! * W2[j]!;
        a[i] = s;
      }
      return { W1, b1, W2, b2, pre, h, a };
    };
    const c = fwd('ctr');
    const v = fwd('cvr');
    let loss = 0;
    const dac = new Float64Array(n);
    const dav = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const sc = sig(c.a[i]!), sv = sig(v.a[i]!), p = sc * sv, y1 = click[i]!, y2 = buy[i]!;
      loss += -(y1 * Math.log(sc) + (1 - y1) * Math.log(1 - sc)) / n;
      loss += -(y2 * Math.log(p) + (1 - y2) * Math.log(1 - p)) / n;
      // d/da of BCE(y, sigma(a) sigma(b)) = -(1 - sigma(a)) (y - p) / (1 - p)
      dac[i] = ((sc - y1) - (1 - sc) * (y2 - p) / (1 - p)) / n;
      dav[i] = (-(1 - sv) * (y2 - p) / (1 - p)) / n;
    }
    losses.push(loss);
    const dx = new Float64Array(n * width);
    const backward = (t: ReturnType<typeof fwd>, da: Float64Array) => {
      const gW2 = new Float64Array(HIDDEN), gW1 = new Float64Array(width * HIDDEN), gb1 = new Float64Array(HIDDEN);
      let gb2 = 0;
      for (let i = 0; i < n; i++) {
        gb2 += da[i]!;
        for (let j = 0; j < HIDDEN; j++) {
          gW2[j] += t.h[i * HIDDEN + j]! * da[i]!;
          const dpre = t.pre[i * HIDDEN + j]! > 0 ? da[i]! * t.W2[j]! : 0;
          gb1[j] += dpre;
          for (let k = 0; k < width; k++) {
            gW1[k * HIDDEN + j] += x[i * width + k]! * dpre;
            dx[i * width + k] += t.W1[k * HIDDEN + j]! * dpre;
          }
        }
      }
      return { gW1, gb1, gW2, gb2 };
    };
    const gc = backward(c, dac);
    const gv = backward(v, dav);
    for (const [t, g] of [['ctr', gc], ['cvr', gv]] as const) {
      const upd = (name: string, grad: ArrayLike<number>) => {
        const w = P.get(`tower_${t}/${name}`)!;
        for (let k = 0; k < w.length; k++) w[k] -= LR * grad[k]!;
      };
      upd('l0/W', g.gW1);
      upd('l0/b', g.gb1);
      upd('head/W', g.gW2);
      upd('head/b', [g.gb2]);
    }
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < F; f++) for (let d = 0; d < DIM; d++) emb[f]![ids[f]![i]! * DIM + d] -= LR * dx[i * width + f * DIM + d]!;
    }
  }
  return losses;
}

describe('engine vs float64 reference', () => {
  it('a tiny ESMM follows the reference loss curve within 1e-4 per step for 20 steps', async () => {
    const n = 64;
    const config = parseConfig({
      data: { train: 'unused.csv' },
      schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['user', 'item', 'ctx'], numeric: ['price'] },
      // Zero output biases: the reference starts from the graph's own initial weights.
      model: { name: 'esmm', embedding_dim: DIM, tower: [HIDDEN], activation: 'relu', output_bias_init: 'zero' },
      train: { epochs: STEPS, batch_size: n, learning_rate: LR, embedding_learning_rate: LR, optimizer: 'sgd', embedding_optimizer: 'sgd', seed: 5, threads: 1 },
    }, 'test', '.');
    const raw = rowsToRawChunk(makeData(n, 11), config.schema);
    const features = FeatureSpec.fit(config.schema, raw);
    const data = features.transform(raw);

    // The reference starts from the engine's own deterministic initial weights.
    const spec = funnelSpec('esmm', config.schema);
    const layout = layoutOf(features, DIM);
    const mg = buildModelGraph(spec, layout, config.model, { training: true, seed: 5 });
    const params = new Map(mg.graph.params().map((p) => [p.value.name, Float64Array.from(p.init)]));
    const tables = EmbeddingSet.create(layout, ['shared'], { type: 'sgd', lr: LR }, 5, 'sum').tables.get('shared')!;
    const emb = tables.map((t) => Float64Array.from(t.denseWeights()));
    const expected = referenceLosses({ emb, params }, data.categorical, data.numeric, data.labels.click, data.labels.buy, n);

    const result = await trainFunnel(config, features, data, undefined);
    expect(result.stepLoss).toHaveLength(STEPS);
    for (let s = 0; s < STEPS; s++) expect(Math.abs(result.stepLoss[s]! - expected[s]!)).toBeLessThan(1e-4);
    // The curve must actually move, or the comparison proves nothing.
    expect(expected[0]! - expected[STEPS - 1]!).toBeGreaterThan(0.01);
  });
});
