import { describe, expect, it } from 'vitest';
import { branch, evalProb, not, product, tower, towersOf } from '../../src/models/funnel.js';
import { funnelSpec } from '../../src/models/registry.js';
import type { Schema } from '../../src/data/schema.js';

const schema: Schema = { labels: { click: 'click', buy: 'buy', actions: ['cart'] }, categorical: ['u'] };

describe('funnel probability algebra', () => {
  it('composes products and branches like the papers', () => {
    const p = { y1: 0.1, y2: 0.3, y3: 0.5, y4: 0.05 };
    const esm2 = product(tower('y1'), branch(tower('y2'), tower('y3'), tower('y4')));
    expect(evalProb(esm2, p)).toBeCloseTo(0.1 * (0.3 * 0.5 + 0.7 * 0.05), 12);
    expect(evalProb(not(tower('y1')), p)).toBeCloseTo(0.9, 12);
    expect(towersOf(esm2)).toEqual(['y1', 'y2', 'y3', 'y4']);
  });

  it('declares ESMM with a CTCVR loss on pCTR x pCVR over all impressions', () => {
    // Regression other projects shipped: an ESMM whose loss silently reduced to CTR only.
    const s = funnelSpec('esmm', schema);
    expect(s.losses.map((l) => [l.name, l.label, l.space])).toEqual([
      ['ctr', 'click', 'impressions'],
      ['ctcvr', 'buy', 'impressions'],
    ]);
    expect(evalProb(s.losses[1]!.prob, { ctr: 0.2, cvr: 0.3 })).toBeCloseTo(0.06, 12);
    expect(s.towers.every((t) => t.embeddings === 'shared')).toBe(true);
    expect(s.losses.some((l) => l.name === 'cvr')).toBe(false);
  });

  it('declares the baselines with their spaces and sharing', () => {
    const naive = funnelSpec('naive_cvr', schema);
    expect(naive.losses.find((l) => l.name === 'cvr')!.space).toBe('clicked');
    expect(new Set(naive.towers.map((t) => t.embeddings)).size).toBe(2);
    const ns = funnelSpec('esmm_ns', schema);
    expect(new Set(ns.towers.map((t) => t.embeddings)).size).toBe(2);
    const div = funnelSpec('division', schema);
    expect(div.outputs.pcvr.kind).toBe('ratio');
  });

  it('declares ESM2 with entire-space losses (the paper\'s three plus click & action & buy) and refuses a schema without actions', () => {
    const s = funnelSpec('esm2', schema);
    expect(s.losses.map((l) => l.label)).toEqual(['click', 'action', 'buy', 'action']);
    expect(s.losses[3]).toMatchObject({ name: 'ctacvr', labelAnd: 'buy' });
    const p = { ctr: 0.1, action: 0.3, buy_after_action: 0.5, buy_no_action: 0.05 };
    expect(evalProb(s.outputs.pctcvr as never, p)).toBeCloseTo(0.1 * (0.15 + 0.035), 12);
    expect(() => funnelSpec('esm2', { ...schema, labels: { click: 'click', buy: 'buy' } })).toThrow(/actions/);
  });

  it('declares an N-stage chain from the label order without new code', () => {
    const s = funnelSpec('chain', { ...schema, labels: { click: 'click', buy: 'activate', actions: ['apply', 'approve'] } });
    expect(s.towers).toHaveLength(4);
    expect(s.losses.map((l) => l.label)).toEqual(['click', 'col:apply', 'col:approve', 'buy']);
    const p = Object.fromEntries(s.towers.map((t, i) => [t.name, [0.5, 0.4, 0.3, 0.2][i]!]));
    expect(evalProb(s.losses[3]!.prob, p)).toBeCloseTo(0.5 * 0.4 * 0.3 * 0.2, 12);
  });
});
