/**
 * Interaction layers (issue 13 item 3): DCN-v2 cross layers as a bottom and as a tower, the
 * explicit user x item inner-product term, gradient-checked against finite differences; and,
 * through the whole model graph, that the FM and inner-product terms really reach the logit.
 */
import { describe, expect, it } from 'vitest';
import { Graph, type Value } from '../../src/graph/graph.js';
import { encodeModel } from '../../src/graph/onnx.js';
import { GraphSession } from '../../src/runtime/session.js';
import { DEFAULT_MODEL } from '../../src/config/defaults.js';
import type { ModelConfig } from '../../src/config/types.js';
import { getBottom } from '../../src/models/bottoms/index.js';
import { getTower } from '../../src/models/towers/index.js';
import { crossNetwork } from '../../src/models/blocks/cross.js';
import { innerProductTerm } from '../../src/models/blocks/inner-product.js';
import type { BlockContext } from '../../src/models/blocks/dense.js';
import { buildModelGraph } from '../../src/models/build-graph.js';
import { funnelSpec } from '../../src/models/registry.js';
import type { FeatureLayout } from '../../src/models/layout.js';
import { synthSchema } from '../../src/synth/schema.js';
import { Rng } from '../../src/util/random.js';
import { gradCheck } from '../graph/gradcheck.js';

const symbols = { batch: 3 };

function context(g: Graph): BlockContext {
  return {
    g,
    rng: new Rng(3),
    activation: 'tanh',
    dropout: 0,
    dropoutMask: () => {
      throw new Error('no dropout in gradient checks');
    },
  };
}
const params = (g: Graph): Value[] => g.params().map((p) => p.value);

describe('gradient checks of the interaction layers', () => {
  it('DCN-v2 cross network: x_{l+1} = x0 * (x_l W + b) + x_l, 3 layers', async () => {
    await gradCheck((g) => {
      const x = g.input('x', ['batch', 5]);
      return { out: crossNetwork(context(g), 'cross', x, 5, 3), wrt: [x, ...params(g)] };
    }, { symbols });
  });

  it('DCN bottom (stacked) hands every tower the cross output', async () => {
    await gradCheck((g) => {
      const x = g.input('x', ['batch', 4]);
      const out = getBottom('dcn')({ ctx: context(g), prefix: 'shared', input: x, width: 4, towers: ['ctr', 'cvr'], cfg: { type: 'dcn', cross_layers: 2 } });
      expect(out.width).toBe(4);
      expect(out.perTower.get('ctr')).toBe(out.perTower.get('cvr'));
      return { out: out.perTower.get('ctr')!, wrt: [x, ...params(g)] };
    }, { symbols });
  });

  it('DCN tower (parallel): [cross(x), mlp(x)]', async () => {
    await gradCheck((g) => {
      const e = g.input('e', ['batch', 6]);
      const out = getTower('dcn')({ ctx: context(g), name: 'ctr', input: e, width: 6, fields: { value: e, count: 3, dim: 2 }, cfg: { type: 'dcn', sizes: [4], activation: 'tanh', dropout: 0, norm: 'none', cross_layers: 2 } });
      expect(out.width).toBe(6 + 4);
      return { out: out.hidden, wrt: [e, ...params(g)] };
    }, { symbols });
  });

  it('inner-product term <u Wu, v Wv> over picked slots', async () => {
    await gradCheck((g) => {
      const e = g.input('e', ['batch', 4 * 3]);
      const fields = { value: e, count: 4, dim: 3, slots: ['user_id', 'user_segment', 'item_id', 'position'] };
      return { out: innerProductTerm(context(g), 'ip', fields, { user: ['user_id', 'user_segment'], item: ['item_id'] }, 'k'), wrt: [e, ...params(g)] };
    }, { symbols });
  });

  it('inner-product term refuses a field that is not a slot, naming the key', () => {
    const g = new Graph('x');
    const e = g.input('e', ['batch', 6]);
    expect(() => innerProductTerm(context(g), 'ip', { value: e, count: 2, dim: 3, slots: ['a', 'b'] }, { user: ['a'], item: ['zzz'] }, 'model.inner_product'))
      .toThrow(/model\.inner_product\.item.*'zzz'/);
  });
});

describe('extra logit terms reach the tower logit in the full model graph', () => {
  const layout: FeatureLayout = { dim: 3, categorical: [{ name: 'user_id', size: 5 }, { name: 'item_id', size: 5 }, { name: 'position', size: 3 }], multiValued: [], numericDim: 0 };
  const schema = synthSchema();
  const base: ModelConfig = { ...DEFAULT_MODEL, tower: [4], activation: 'tanh' };
  const emb = Float64Array.from({ length: 2 * 9 }, (_, i) => Math.sin(1.7 * i + 0.3));

  async function ctrLogit(cfg: ModelConfig): Promise<{ logits: number[]; g: Graph }> {
    const mg = buildModelGraph(funnelSpec('esmm', schema), layout, cfg, { training: false, seed: 4, dtype: 'float64' });
    const s = await GraphSession.create(encodeModel(mg.graph, { paramsAs: 'initializers', outputs: ['pctr'] }), { intraOpThreads: 1 });
    const r = await s.runTensors({ emb_shared: { data: emb, dims: [2, 9] } }, ['pctr']);
    await s.release();
    const p = Array.from(r.pctr!.data as Float64Array);
    return { logits: p.map((q) => Math.log(q) - Math.log(1 - q)), g: mg.graph };
  }

  it('FM tower: logit = MLP logit + sum of pairwise field inner products', async () => {
    const mlp = await ctrLogit(base);
    const fm = await ctrLogit({ ...base, towers: { ctr: { type: 'fm' } } });
    for (let r = 0; r < 2; r++) {
      const e = (f: number, d: number): number => emb[r * 9 + f * 3 + d]!;
      let pairs = 0;
      for (let a = 0; a < 3; a++) for (let b = a + 1; b < 3; b++) for (let d = 0; d < 3; d++) pairs += e(a, d) * e(b, d);
      expect(fm.logits[r]! - mlp.logits[r]!).toBeCloseTo(pairs, 8);
    }
  });

  it('inner product: logit = MLP logit + <u Wu, v Wv>', async () => {
    const mlp = await ctrLogit(base);
    const ip = await ctrLogit({ ...base, towers: { ctr: { type: 'mlp', inner_product: { user: ['user_id'], item: ['item_id', 'position'] } } } });
    const wu = ip.g.params().find((p) => p.value.name === 'tower_ctr/inner_product/Wu')!.init;
    const wv = ip.g.params().find((p) => p.value.name === 'tower_ctr/inner_product/Wv')!.init;
    for (let r = 0; r < 2; r++) {
      const row = emb.subarray(r * 9, r * 9 + 9);
      let term = 0;
      for (let k = 0; k < 3; k++) {
        let u = 0;
        let v = 0;
        for (let j = 0; j < 3; j++) u += row[j]! * wu[j * 3 + k]!;
        for (let j = 0; j < 6; j++) v += row[3 + j]! * wv[j * 3 + k]!;
        term += u * v;
      }
      expect(Math.abs(term)).toBeGreaterThan(1e-3);
      expect(ip.logits[r]! - mlp.logits[r]!).toBeCloseTo(term, 5);
    }
  });
});
