/** Output biases start at the training base rates' log-odds (model.output_bias_init: prior). */
import { describe, expect, it } from 'vitest';
import { funnelSpec } from '../../src/models/registry.js';
import { initOutputBiases } from '../../src/train/prior-bias.js';
import type { EncodedChunk } from '../../src/data/batch.js';
import type { Schema } from '../../src/data/schema.js';

const schema: Schema = { labels: { click: 'click', buy: 'buy', actions: ['cart'] }, categorical: ['u'] };
const logit = (p: number): number => Math.log(p / (1 - p));

function chunk(): EncodedChunk {
  // 100 rows, 20 clicks, 5 buys.
  const click = Float32Array.from({ length: 100 }, (_, i) => (i < 20 ? 1 : 0));
  const buy = Float32Array.from({ length: 100 }, (_, i) => (i < 5 ? 1 : 0));
  return { rows: 100, labels: { click, buy, actions: new Map() } } as unknown as EncodedChunk; // only labels are read
}

describe('prior output-bias init', () => {
  it('sets the pCTR tower to logit(click rate) and the pCVR tower to logit(buy rate among clicks)', () => {
    for (const name of ['esmm', 'escm2_ipw', 'naive_cvr']) {
      const params = new Map([['tower_ctr/head/b', new Float32Array(1)], ['tower_cvr/head/b', new Float32Array(1)]]);
      initOutputBiases(funnelSpec(name, schema), params, chunk());
      expect(params.get('tower_ctr/head/b')![0]).toBeCloseTo(logit(0.2), 5);
      expect(params.get('tower_cvr/head/b')![0]).toBeCloseTo(logit(0.25), 5);
    }
  });

  it('starts both towers of a ratio pCVR (division) at their own rates, so pCVR starts at buys / clicks', () => {
    const params = new Map([['tower_ctr/head/b', new Float32Array(1)], ['tower_ctcvr/head/b', new Float32Array(1)]]);
    initOutputBiases(funnelSpec('division', schema), params, chunk());
    expect(params.get('tower_ctr/head/b')![0]).toBeCloseTo(logit(0.2), 5);
    expect(params.get('tower_ctcvr/head/b')![0]).toBeCloseTo(logit(0.05), 5);
  });

  it('starts every AITM stage tower at its stage rate over impressions (click, cart, buy)', () => {
    const chunk3 = chunk();
    // 10 of the 20 clicks carted.
    chunk3.labels.actions.set('cart', Float32Array.from({ length: 100 }, (_, i) => (i < 10 ? 1 : 0)));
    const spec = funnelSpec('aitm', { ...schema, labels: { click: 'click', buy: 'buy', actions: ['cart'] } });
    const names = spec.towers.map((t) => t.name);
    expect(names).toHaveLength(3);
    const params = new Map(names.map((n) => [`tower_${n}/head/b`, new Float32Array(1)]));
    initOutputBiases(spec, params, chunk3);
    expect(names.map((n) => params.get(`tower_${n}/head/b`)![0])).toEqual([logit(0.2), logit(0.1), logit(0.05)].map((x) => expect.closeTo(x, 5)));
  });

  it('starts ESM2\'s branch towers at their conditional rates, so pCVR starts at buys / clicks', () => {
    const c = chunk();
    // 8 of the 20 clicks carted (rows 1-8), 4 of them bought (rows 1-4); row 0 bought without a cart.
    c.labels.action = Float32Array.from({ length: 100 }, (_, i) => (i >= 1 && i <= 8 ? 1 : 0));
    const spec = funnelSpec('esm2', schema);
    const params = new Map(spec.towers.map((t) => [`tower_${t.name}/head/b`, new Float32Array(1)]));
    initOutputBiases(spec, params, c);
    // A tower's starting logit: its own head bias plus its logit base's, if it declares one.
    const b = (n: string): number => {
      const base = spec.towers.find((t) => t.name === n)?.logitBase;
      return params.get(`tower_${n}/head/b`)![0]! + (base !== undefined ? b(base) : 0);
    };
    expect(b('ctr')).toBeCloseTo(logit(0.2), 5);
    expect(b('action')).toBeCloseTo(logit(8 / 20), 5);
    expect(b('buy_after_action')).toBeCloseTo(logit(4 / 8), 5);
    expect(b('buy_no_action')).toBeCloseTo(logit(1 / 12), 5);
    const sig = (x: number): number => 1 / (1 + Math.exp(-x));
    const pcvr = sig(b('action')) * sig(b('buy_after_action')) + (1 - sig(b('action'))) * sig(b('buy_no_action'));
    expect(pcvr).toBeCloseTo(5 / 20, 5);
  });
});
