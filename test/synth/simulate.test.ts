import { beforeAll, describe, expect, it } from 'vitest';
import { resolveSynthConfig } from '../../src/synth/config.js';
import { simulate, splitRanges, type SynthResult } from '../../src/synth/simulate.js';
import { funnelStats, type FunnelStats } from '../../src/synth/stats.js';
import { UserError } from '../../src/errors.js';

/** Binomial standard error of a rate p estimated from n draws. */
const se = (p: number, n: number): number => Math.sqrt((p * (1 - p)) / n);

describe('simulate (200k impressions, default config)', () => {
  let r: SynthResult;
  let s: FunnelStats;
  beforeAll(() => {
    r = simulate({ rows: 200_000, seed: 11 });
    s = funnelStats(r);
  });

  it('hits the configured funnel rates within 5 sigma', () => {
    const c = r.config;
    expect(Math.abs(s.ctr - c.ctr)).toBeLessThan(5 * se(c.ctr, s.impressions));
    expect(Math.abs(s.cvr - c.cvr)).toBeLessThan(5 * se(c.cvr, s.clicks));
    expect(Math.abs(s.ctcvr - c.ctr * c.cvr)).toBeLessThan(5 * se(c.ctr * c.cvr, s.impressions));
    expect(Math.abs(s.cartRate - c.cartRate)).toBeLessThan(5 * se(c.cartRate, s.clicks));
    // Ali-CCP-like sparsity.
    expect(s.ctr).toBeGreaterThan(0.02);
    expect(s.ctr).toBeLessThan(0.08);
    expect(s.ctcvr).toBeLessThan(0.01);
  });

  it('draws labels from the recorded truth (clicks match the sum of true pCTR)', () => {
    let expected = 0;
    let variance = 0;
    for (let i = 0; i < r.rows; i++) {
      expected += r.truePctr[i]!;
      variance += r.truePctr[i]! * (1 - r.truePctr[i]!);
    }
    expect(Math.abs(s.clicks - expected)).toBeLessThan(5 * Math.sqrt(variance));
    let potential = 0;
    let pv = 0;
    for (let i = 0; i < r.rows; i++) {
      potential += r.truePcvr[i]!;
      pv += r.truePcvr[i]! * (1 - r.truePcvr[i]!);
    }
    expect(Math.abs(s.potentialBuyRate * r.rows - potential)).toBeLessThan(5 * Math.sqrt(pv));
  });

  it('keeps labels and truth consistent for every impression', () => {
    let bad = 0;
    for (let i = 0; i < r.rows; i++) {
      const clicked = r.click[i] === 1;
      if (r.buy[i]! > r.click[i]! || r.cart[i]! > r.click[i]!) bad++;
      if (clicked && (r.potentialBuy[i] !== r.buy[i] || r.potentialCart[i] !== r.cart[i])) bad++;
      for (const p of [r.truePctr[i]!, r.truePcvr[i]!, r.truePctcvr[i]!, r.truePcart[i]!]) {
        if (!(p > 0 && p < 1)) bad++;
      }
      if (Math.abs(r.truePctcvr[i]! - r.truePctr[i]! * r.truePcvr[i]!) > 1e-15) bad++;
    }
    expect(bad).toBe(0);
  });

  it('has selection bias: clicked impressions convert worse than the entire space', () => {
    expect(s.corrPctrPcvr).toBeLessThan(-0.05);
    expect(s.meanTruePcvrClicked).toBeLessThan(0.9 * s.meanTruePcvr);
    // Observable too: potential buys over all impressions vs buys among clicks, beyond 5 sigma.
    const gap = s.potentialBuyRate - s.cvr;
    expect(gap).toBeGreaterThan(5 * Math.hypot(se(s.cvr, s.clicks), se(s.potentialBuyRate, s.impressions)));
  });

  it('makes the cart action informative about the buy', () => {
    expect(s.buyGivenCart).toBeGreaterThan(5 * s.buyGivenNoCart);
    const pc = s.cartRate;
    // ESM2: p(buy|click) = p(cart|click) p(buy|cart) + (1 - p(cart|click)) p(buy|no cart)
    expect(pc * s.buyGivenCart + (1 - pc) * s.buyGivenNoCart).toBeCloseTo(s.cvr, 12);
  });

  it('puts signal in the context and item features', () => {
    const clicksAt = new Float64Array(r.config.positions);
    const shownAt = new Float64Array(r.config.positions);
    for (let i = 0; i < r.rows; i++) {
      clicksAt[r.position[i]!]! += r.click[i]!;
      shownAt[r.position[i]!]! += 1;
    }
    expect(clicksAt[0]! / shownAt[0]!).toBeGreaterThan(1.5 * (clicksAt[9]! / shownAt[9]!));
    // Cheap items convert better than expensive ones (truth over all impressions).
    const medianZ = 0;
    let cheap = 0;
    let cheapN = 0;
    let dear = 0;
    let dearN = 0;
    for (let i = 0; i < r.rows; i++) {
      const z = r.world.itemPriceZ[r.item[i]!]!;
      if (z < medianZ - 1) {
        cheap += r.truePcvr[i]!;
        cheapN++;
      } else if (z > medianZ + 1) {
        dear += r.truePcvr[i]!;
        dearN++;
      }
    }
    expect(cheap / cheapN).toBeGreaterThan(dear / dearN);
  });

  it('repeats ids often enough to learn them', () => {
    const seen = new Set(r.item);
    expect(seen.size).toBeGreaterThan(0.9 * r.config.items);
    expect(new Set(r.user).size).toBeGreaterThan(0.9 * r.config.users);
  });
});

describe('simulate determinism and config', () => {
  it('is identical for the same seed and differs for another', () => {
    const a = simulate({ rows: 5_000, seed: 3, calibrationRows: 5_000 });
    const b = simulate({ rows: 5_000, seed: 3, calibrationRows: 5_000 });
    const c = simulate({ rows: 5_000, seed: 4, calibrationRows: 5_000 });
    expect(b.truePctr).toEqual(a.truePctr);
    expect(b.click).toEqual(a.click);
    expect(b.item).toEqual(a.item);
    expect(c.truePctr).not.toEqual(a.truePctr);
  });

  it('honours other targets', () => {
    const r = simulate({ rows: 100_000, ctr: 0.1, cvr: 0.2, cartRate: 0.4, seed: 5, calibrationRows: 50_000 });
    const s = funnelStats(r);
    expect(Math.abs(s.ctr - 0.1)).toBeLessThan(5 * se(0.1, s.impressions));
    expect(Math.abs(s.cvr - 0.2)).toBeLessThan(5 * se(0.2, s.clicks));
    expect(Math.abs(s.cartRate - 0.4)).toBeLessThan(5 * se(0.4, s.clicks));
  });

  it('splits rows 80/10/10 by default', () => {
    expect(splitRanges(1000, [0.8, 0.1, 0.1])).toEqual({ train: [0, 800], valid: [800, 900], test: [900, 1000] });
  });

  it('rejects bad options with a UserError naming the key', () => {
    expect(() => resolveSynthConfig({ ctr: 1.5 })).toThrow(UserError);
    expect(() => resolveSynthConfig({ ctr: 1.5 })).toThrow(/key 'ctr'/);
    expect(() => resolveSynthConfig({ rows: 10.5 })).toThrow(/key 'rows'/);
    expect(() => resolveSynthConfig({ split: [0.5, 0.1, 0.1] })).toThrow(/sum to 1/);
    expect(() => resolveSynthConfig({ bogus: 1 } as never)).toThrow(/key 'bogus'/);
    expect(() => resolveSynthConfig({ effects: { price: -1 } })).toThrow(/effects.price/);
  });
});
