/**
 * Every new model block's gradients against central finite differences in float64 through ORT
 * (test/graph/gradcheck.ts): MMoE, PLE, the FM tower, layer norm, field-wise pooling, DIN
 * attention pooling, AITM's AIT module and calibrator, uncertainty weighting, ESCM2's regularisers.
 */
import { describe, expect, it } from 'vitest';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph, type Value } from '../../src/graph/graph.js';
import { encodeModel } from '../../src/graph/onnx.js';
import { GraphSession } from '../../src/runtime/session.js';
import { DEFAULT_MODEL } from '../../src/config/defaults.js';
import type { ModelConfig } from '../../src/config/types.js';
import { getBottom } from '../../src/models/bottoms/index.js';
import { fmTower } from '../../src/models/towers/fm-tower.js';
import type { BlockContext } from '../../src/models/blocks/block-context.js';
import { layerNorm } from '../../src/models/blocks/layer-norm.js';
import { poolFieldGroups } from '../../src/models/blocks/field-pooling.js';
import { attentionPool } from '../../src/models/blocks/attention-pooling.js';
import { aitModule } from '../../src/models/blocks/ait.js';
import { combineLosses, LOG_VARIANCE_PARAM } from '../../src/models/loss-weighting.js';
import { buildRegularizer } from '../../src/models/regularizers.js';
import { tower, type LogProb, type ProbExpr } from '../../src/models/funnel.js';
import type { LabelKey } from '../../src/data/batch.js';
import { Rng } from '../../src/util/random.js';
import { gradCheck } from '../graph/gradcheck.js';

const B = 3;
const symbols = { batch: B };

function context(g: Graph): BlockContext {
  return {
    g,
    rng: new Rng(7),
    activation: 'tanh', // smooth, so finite differences are exact away from kinks
    dropout: 0,
    dropoutMask: () => {
      throw new Error('no dropout in gradient checks');
    },
  };
}

const params = (g: Graph): Value[] => g.params().map((p) => p.value);
const cfg = (over: Partial<ModelConfig> = {}): ModelConfig => ({ ...DEFAULT_MODEL, ...over });
const col = (xs: number[]): { data: Float64Array; dims: number[] } => ({ data: Float64Array.from(xs), dims: [xs.length, 1] });

describe('gradient checks of the model blocks', () => {
  it('MMoE: experts and one softmax gate per tower', async () => {
    await gradCheck((g) => {
      const x = g.input('x', ['batch', 5]);
      const out = getBottom('mmoe')({ ctx: context(g), prefix: 'shared', input: x, width: 5, towers: ['ctr', 'cvr'], cfg: { type: 'mmoe', experts: 3, expert: [4] } });
      expect(out.width).toBe(4);
      return { out: g.concat([out.perTower.get('ctr')!, out.perTower.get('cvr')!], 1), wrt: [x, ...params(g)] };
    }, { symbols });
  });

  it('PLE: two extraction levels with task and shared experts', async () => {
    await gradCheck((g) => {
      const x = g.input('x', ['batch', 4]);
      const out = getBottom('ple')({ ctx: context(g), prefix: 'shared', input: x, width: 4, towers: ['a', 'b'], cfg: { type: 'ple', experts: 2, task_experts: 1, expert: [3], levels: 2 } });
      return { out: g.concat([out.perTower.get('a')!, out.perTower.get('b')!], 1), wrt: [x, ...params(g)] };
    }, { symbols });
  });

  it('FM tower: MLP hidden vector plus 0.5 ((sum e)^2 - sum e^2)', async () => {
    await gradCheck((g) => {
      const e = g.input('e', ['batch', 4 * 3]);
      const out = fmTower({ ctx: context(g), name: 'ctr', input: e, width: 12, fields: { value: e, count: 4, dim: 3 }, cfg: { type: 'fm', sizes: [5], activation: 'tanh', dropout: 0, norm: 'none' } });
      return { out: g.concat([out.hidden, out.logitTerm!], 1), wrt: [e, ...params(g)] };
    }, { symbols });
  });

  it('FM term equals the sum of pairwise inner products', async () => {
    const g = new Graph('fm', { dtype: 'float64' });
    const e = g.input('e', ['batch', 6]);
    const out = fmTower({ ctx: context(g), name: 't', input: e, width: 6, fields: { value: e, count: 3, dim: 2 }, cfg: { type: 'fm', sizes: [2], activation: 'tanh', dropout: 0, norm: 'none' } });
    g.output('fm', out.logitTerm!);
    const s = await GraphSession.create(encodeModel(g, { paramsAs: 'initializers' }), { intraOpThreads: 1 });
    const v = [1, 2, -1, 0.5, 3, -2];
    const r = await s.runTensors({ e: { data: Float64Array.from(v), dims: [1, 6] } }, ['fm']);
    await s.release();
    const dot = (a: number, b: number): number => v[2 * a]! * v[2 * b]! + v[2 * a + 1]! * v[2 * b + 1]!;
    expect(r.fm!.data[0]).toBeCloseTo(dot(0, 1) + dot(0, 2) + dot(1, 2), 10);
  });

  it('layer norm over the last axis', async () => {
    await gradCheck((g) => {
      const x = g.input('x', ['batch', 5]);
      return { out: layerNorm(context(g), 'ln', x, 5), wrt: [x, ...params(g)] };
    }, { symbols });
  });

  it('field-wise pooling sums a group into one slot', async () => {
    await gradCheck((g) => {
      const x = g.input('x', ['batch', 4 * 2]);
      const p = poolFieldGroups(g, x, ['user_id', 'item_id', 'user_segment', 'position'], 2, { user: ['user_id', 'user_segment'] });
      expect(p.slots).toEqual(['user', 'item_id', 'position']);
      return { out: p.value, wrt: [x] };
    }, { symbols });
  });

  it('DIN attention pooling against the candidate embedding, padding masked', async () => {
    const mask = { data: Float64Array.from([1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0]), dims: [B, 4] };
    const res = await gradCheck((g) => {
      const keys = g.input('keys', ['batch', 4, 3]);
      const m = g.input('mask', ['batch', 4]);
      const q = g.input('q', ['batch', 3]);
      return { out: attentionPool(context(g), 'att', keys, m, q, 3), wrt: [keys, q, ...params(g)], feeds: { mask } };
    }, { symbols });
    // Padded positions get no gradient.
    const dKeys = res.grads[0]!;
    for (let i = 0; i < B; i++) for (let l = 0; l < 4; l++) if (mask.data[i * 4 + l] === 0) for (let d = 0; d < 3; d++) expect(dKeys[(i * 4 + l) * 3 + d]).toBe(0);
  });

  it('AIT module: attention over the transferred and the own vector', async () => {
    await gradCheck((g) => {
      const prev = g.input('prev', ['batch', 4]);
      const q = g.input('q', ['batch', 3]);
      return { out: aitModule(context(g), 'ait', prev, 4, q, 3), wrt: [prev, q, ...params(g)] };
    }, { symbols });
  });

  it('uncertainty weighting: sum exp(-s_k) L_k + s_k with learned s_k', async () => {
    const res = await gradCheck((g) => {
      const x = g.input('x', [3]);
      const w = g.input('w', [3]);
      const terms = [0, 1, 2].map((k) => {
        const v = g.slice(x, 0, k, k + 1);
        return { name: `l${k}`, value: g.reduceSum(g.mul(v, v), [0]), task: k < 2 };
      });
      const total = combineLosses(context(g), terms, w, 'uncertainty');
      expect(g.params().map((p) => p.value.name)).toEqual([LOG_VARIANCE_PARAM]);
      return { out: total, wrt: [x, ...params(g)], feeds: { w: { data: Float64Array.from([1, 0.5, 2]), dims: [3] } } };
    });
    expect(res.grads[1]).toHaveLength(2); // one log-variance per task loss; the penalty keeps its weight
  });

  describe('regularisers', () => {
    const click = col([1, 0, 1]);
    const buy = col([1, 0, 0]);
    const setup = (g: Graph, names: string[], selfNormalize = false) => {
      const logits = new Map(names.map((n) => [n, g.input(`logit_${n}`, ['batch', 1])]));
      const labels = new Map<LabelKey, Value>();
      const label = (k: LabelKey): Value => {
        if (!labels.has(k)) labels.set(k, g.input(`label_${k}`, ['batch', 1]));
        return labels.get(k)!;
      };
      const ctx = { g, logits, cache: new Map<ProbExpr, LogProb>(), label, cfg: cfg({ escm2: { propensity_floor: 0.05, propensity_clip: 0.95, self_normalize: selfNormalize }, aitm: { alpha: 0.7 } }) };
      return { logits, ctx, feeds: { label_click: click, label_buy: buy } };
    };
    const values = (names: string[], v: number[][]) => Object.fromEntries(names.map((n, i) => [`logit_${n}`, Float64Array.from(v[i]!)]));

    it('AITM calibrator: alpha * sum_t mean(max(y_t - y_{t-1}, 0))', async () => {
      const names = ['s1', 's2', 's3'];
      await gradCheck((g) => {
        const { logits, ctx } = setup(g, names);
        const [term] = buildRegularizer(ctx, { kind: 'calibrator', name: 'calibrator', stages: names.map((n) => tower(n)) });
        return { out: term!.value, wrt: [...logits.values()], values: values(names, [[-1, 0.5, 1], [0, 1, -2], [1, -0.3, 0.2]]) };
      }, { symbols });
    });

    it('ESCM2-IPW: gradient into pCVR only, the propensity receives none', async () => {
      const names = ['ctr', 'cvr'];
      const v = values(names, [[-1, 0.3, 1.5], [0.2, -0.7, 1.1]]);
      const res = await gradCheck((g) => {
        const { logits, ctx, feeds } = setup(g, names);
        const [term] = buildRegularizer(ctx, { kind: 'ipw', name: 'cvr_ipw', cvr: tower('cvr'), propensity: tower('ctr') });
        return { out: term!.value, wrt: [logits.get('cvr')!], feeds: { ...feeds, logit_ctr: { data: v.logit_ctr!, dims: [B, 1] } }, values: v };
      }, { symbols });
      expect(res.grads[0]![1]! + 0).toBe(0); // not clicked: no counterfactual risk
      expect(await gradOf('ipw', 'ctr', v)).toEqual([0, 0, 0]);
    });

    it('ESCM2-DR: the DR risk trains pCVR, the imputation loss trains the imputation tower', async () => {
      const names = ['ctr', 'cvr', 'imp'];
      const v = values(names, [[-1, 0.3, 1.5], [0.2, -0.7, 1.1], [0.5, -1, 0.1]]);
      for (const [which, wrt] of [[0, 'cvr'], [1, 'imp']] as const) {
        await gradCheck((g) => {
          const { logits, ctx, feeds } = setup(g, names);
          const terms = buildRegularizer(ctx, { kind: 'dr', name: 'cvr_dr', cvr: tower('cvr'), propensity: tower('ctr'), imputationTower: 'imp', imputationLoss: 'imputation' });
          expect(terms.map((t) => t.name)).toEqual(['cvr_dr', 'imputation']);
          const fixed = Object.fromEntries(names.filter((n) => n !== wrt).map((n) => [`logit_${n}`, { data: v[`logit_${n}`]!, dims: [B, 1] }]));
          return { out: terms[which]!.value, wrt: [logits.get(wrt)!], feeds: { ...feeds, ...fixed }, values: v };
        }, { symbols });
      }
      expect(await gradOf('dr', 'ctr', v)).toEqual([0, 0, 0]);
      expect(await gradOf('dr', 'imp', v, 0)).toEqual([0, 0, 0]); // DR risk: imputed error held fixed
      expect(await gradOf('dr', 'cvr', v, 1)).toEqual([0, 0, 0]); // imputation loss: CVR error held fixed
    });

    it('self-normalised ESCM2 risks (sum of w e / sum of w) match finite differences', async () => {
      const names = ['ctr', 'cvr', 'imp'];
      const v = values(names, [[-1, 0.3, 1.5], [0.2, -0.7, 1.1], [0.5, -1, 0.1]]);
      for (const kind of ['ipw', 'dr'] as const) {
        for (const [which, wrt] of (kind === 'ipw' ? [[0, 'cvr']] : [[0, 'cvr'], [1, 'imp']]) as [number, string][]) {
          await gradCheck((g) => {
            const { logits, ctx, feeds } = setup(g, names, true);
            const decl = kind === 'ipw'
              ? { kind, name: 'cvr_ipw', cvr: tower('cvr'), propensity: tower('ctr') }
              : { kind, name: 'cvr_dr', cvr: tower('cvr'), propensity: tower('ctr'), imputationTower: 'imp', imputationLoss: 'imputation' };
            const terms = buildRegularizer(ctx, decl as never);
            const fixed = Object.fromEntries(names.filter((n) => n !== wrt).map((n) => [`logit_${n}`, { data: v[`logit_${n}`]!, dims: [B, 1] }]));
            return { out: terms[which]!.value, wrt: [logits.get(wrt)!], feeds: { ...feeds, ...fixed }, values: v };
          }, { symbols });
        }
      }
    });

    /** Analytic gradient of a regulariser term w.r.t. one logit (the stop-gradient paths). */
    async function gradOf(kind: 'ipw' | 'dr', wrt: string, v: Record<string, Float64Array>, term = 0): Promise<number[]> {
      const g = new Graph('sg', { dtype: 'float64' });
      const names = Object.keys(v).map((k) => k.slice(6));
      const { logits, ctx, feeds } = setup(g, names);
      const decl = kind === 'ipw'
        ? { kind, name: 'cvr_ipw', cvr: tower('cvr'), propensity: tower('ctr') }
        : { kind, name: 'cvr_dr', cvr: tower('cvr'), propensity: tower('ctr'), imputationTower: 'imp', imputationLoss: 'imputation' };
      const value = buildRegularizer(ctx, decl as never)[term]!.value;
      const [d] = gradients(g, value, [logits.get(wrt)!]);
      g.output('d', d!);
      const s = await GraphSession.create(encodeModel(g, { paramsAs: 'inputs' }), { intraOpThreads: 1 });
      const all = { ...feeds, ...Object.fromEntries(Object.entries(v).map(([k, x]) => [k, { data: x, dims: [B, 1] }])) };
      const r = await s.runTensors(all, ['d']);
      await s.release();
      return Array.from(r.d!.data as Float64Array, (x) => x + 0); // + 0 turns -0 into 0
    }
  });
});
