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

  it('leaves models whose pCVR is a ratio of towers (division) at zero: pCVR would start pinned at 1', () => {
    const params = new Map([['tower_ctr/head/b', new Float32Array(1)], ['tower_ctcvr/head/b', new Float32Array(1)]]);
    initOutputBiases(funnelSpec('division', schema), params, chunk());
    expect(params.get('tower_ctr/head/b')![0]).toBe(0);
    expect(params.get('tower_ctcvr/head/b')![0]).toBe(0);
  });
});
