/**
 * ESM2's click -> action -> buy loss (issue 13 item 5): loss_ctacvr is the entire-space BCE of
 * y1 y2 y3 against click & action & buy, and setting its weight to 0 gives the paper's three
 * losses back.
 */
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../../src/graph/onnx.js';
import { GraphSession } from '../../src/runtime/session.js';
import { DEFAULT_MODEL } from '../../src/config/defaults.js';
import { buildModelGraph, LOSS_WEIGHTS_INPUT } from '../../src/models/build-graph.js';
import { funnelSpec } from '../../src/models/registry.js';
import type { FeatureLayout } from '../../src/models/layout.js';
import { synthSchema } from '../../src/synth/schema.js';

const layout: FeatureLayout = { dim: 2, categorical: [{ name: 'user_id', size: 4 }, { name: 'item_id', size: 4 }], multiValued: [], numericDim: 0 };
const cfg = { ...DEFAULT_MODEL, name: 'esm2', tower: [3], activation: 'tanh' as const };
const spec = funnelSpec('esm2', synthSchema());
const rows = 4;

describe('ESM2 click & action & buy loss', () => {
  const emb = Float64Array.from({ length: rows * 4 }, (_, i) => Math.cos(0.9 * i));
  const click = [1, 1, 1, 0];
  const action = [1, 1, 0, 0];
  const buy = [1, 0, 1, 0];

  it('is the BCE of y1 y2 y3 against click & action & buy', async () => {
    const inf = buildModelGraph(spec, layout, cfg, { training: false, seed: 2, dtype: 'float64', towerOutputs: true });
    const s1 = await GraphSession.create(encodeModel(inf.graph, { paramsAs: 'initializers' }), { intraOpThreads: 1 });
    const t = await s1.runTensors({ emb_shared: { data: emb, dims: [rows, 4] } }, ['tower/ctr', 'tower/action', 'tower/buy_after_action']);
    await s1.release();
    const y = (k: string, i: number): number => (t[k]!.data as Float64Array)[i]!;
    let want = 0;
    for (let i = 0; i < rows; i++) {
      const p = y('tower/ctr', i) * y('tower/action', i) * y('tower/buy_after_action', i);
      const label = action[i]! * buy[i]!;
      want -= (label * Math.log(p) + (1 - label) * Math.log(1 - p)) / rows;
    }

    const tr = buildModelGraph(spec, layout, cfg, { training: true, seed: 2, dtype: 'float64' });
    expect(tr.lossNames).toEqual(['ctr', 'action', 'ctcvr', 'ctacvr']);
    const s2 = await GraphSession.create(encodeModel(tr.graph, { paramsAs: 'initializers', outputs: ['loss_ctacvr', 'loss'] }), { intraOpThreads: 1 });
    const col = (xs: number[]) => ({ data: Float64Array.from(xs), dims: [rows, 1] });
    const feeds = { emb_shared: { data: emb, dims: [rows, 4] }, label_click: col(click), label_action: col(action), label_buy: col(buy) };
    const r = await s2.runTensors({ ...feeds, [LOSS_WEIGHTS_INPUT]: { data: Float64Array.of(1, 1, 1, 1), dims: [4] } }, ['loss_ctacvr', 'loss']);
    const without = await s2.runTensors({ ...feeds, [LOSS_WEIGHTS_INPUT]: { data: Float64Array.of(1, 1, 1, 0), dims: [4] } }, ['loss']);
    await s2.release();
    const got = (r.loss_ctacvr!.data as Float64Array)[0]!;
    expect(got).toBeCloseTo(want, 10);
    // Weight 0 (loss_weights.ctacvr: 0) removes exactly this term: the paper's ESM2.
    expect((r.loss!.data as Float64Array)[0]! - (without.loss!.data as Float64Array)[0]!).toBeCloseTo(got, 10);
  });
});

describe('ESM2 buy towers: y3 = p(buy | DAction) is a departure from y4 = p(buy | OAction)', () => {
  const emb = Float64Array.from({ length: rows * 4 }, (_, i) => Math.sin(1.3 * i));
  const logit = (p: number): number => Math.log(p / (1 - p));

  it('logit y3 = logit y4 + y3\'s own head, so a zero head gives y3 = y4', async () => {
    for (const shift of [0, 0.7]) {
      const inf = buildModelGraph(spec, layout, cfg, { training: false, seed: 5, dtype: 'float64', towerOutputs: true });
      for (const p of inf.graph.params()) {
        if (p.value.name === 'tower_buy_after_action/head/W') p.init.fill(0);
        if (p.value.name === 'tower_buy_after_action/head/b') p.init.fill(shift);
      }
      const s = await GraphSession.create(encodeModel(inf.graph, { paramsAs: 'initializers' }), { intraOpThreads: 1 });
      const t = await s.runTensors({ emb_shared: { data: emb, dims: [rows, 4] } }, ['tower/buy_after_action', 'tower/buy_no_action']);
      await s.release();
      const y3 = t['tower/buy_after_action']!.data as Float64Array;
      const y4 = t['tower/buy_no_action']!.data as Float64Array;
      for (let i = 0; i < rows; i++) expect(logit(y3[i]!) - logit(y4[i]!)).toBeCloseTo(shift, 6); // the bias is stored as float32
      // The rows differ, so y4 is not a constant that the test would pass on by accident.
      expect(new Set(Array.from(y4, (v) => v.toFixed(9))).size).toBe(rows);
    }
  });

  it('the training loss gradient with respect to the embeddings matches central finite differences', async () => {
    const tr = buildModelGraph(spec, layout, cfg, { training: true, seed: 5, dtype: 'float64' });
    const gradOut = tr.embGrads[0]!.output;
    const s = await GraphSession.create(encodeModel(tr.graph, { paramsAs: 'initializers', outputs: ['loss', gradOut] }), { intraOpThreads: 1 });
    const col = (xs: number[]) => ({ data: Float64Array.from(xs), dims: [rows, 1] });
    const feeds = (e: Float64Array) => ({
      emb_shared: { data: e, dims: [rows, 4] }, label_click: col([1, 1, 1, 0]), label_action: col([1, 0, 1, 0]), label_buy: col([1, 1, 0, 0]),
      [LOSS_WEIGHTS_INPUT]: { data: Float64Array.of(1, 1, 1, 1), dims: [4] },
    });
    const grad = (await s.runTensors(feeds(emb), [gradOut]))[gradOut]!.data as Float64Array;
    const h = 1e-6;
    for (let j = 0; j < emb.length; j++) {
      const plus = Float64Array.from(emb);
      const minus = Float64Array.from(emb);
      plus[j]! += h;
      minus[j]! -= h;
      const lp = ((await s.runTensors(feeds(plus), ['loss'])).loss!.data as Float64Array)[0]!;
      const lm = ((await s.runTensors(feeds(minus), ['loss'])).loss!.data as Float64Array)[0]!;
      expect(Math.abs(grad[j]! - (lp - lm) / (2 * h))).toBeLessThan(1e-6);
    }
    await s.release();
  });
});
