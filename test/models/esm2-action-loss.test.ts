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

describe('ESM2 click & action & buy loss', () => {
  const layout: FeatureLayout = { dim: 2, categorical: [{ name: 'user_id', size: 4 }, { name: 'item_id', size: 4 }], multiValued: [], numericDim: 0 };
  const cfg = { ...DEFAULT_MODEL, name: 'esm2', tower: [3], activation: 'tanh' as const };
  const spec = funnelSpec('esm2', synthSchema());
  const rows = 4;
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
