/**
 * effects.hiddenIntent: an unobserved per-impression factor in both the click and the conversion
 * logit. On a world of one user, one item and one position every impression has the same features
 * x, so p(buy | click, x) against p(buy | x) is the buy rate among clicks against the potential-buy
 * rate over all impressions: equal without the confounder, higher with it.
 */
import { describe, expect, it } from 'vitest';
import { simulate, type SynthResult } from '../../src/synth/simulate.js';
import { funnelStats } from '../../src/synth/stats.js';

const ONE_POINT = { rows: 100_000, users: 1, items: 1, categories: 1, segments: 1, positions: 1, seed: 9, calibrationRows: 50_000, ctr: 0.1, cvr: 0.2 };
const se = (p: number, n: number): number => Math.sqrt((p * (1 - p)) / n);

function pearson(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb);
}

/** Buys among clicks minus potential buys over all impressions, and the 5-sigma band of that gap. */
function clickedMinusPotential(r: SynthResult): { gap: number; band: number } {
  const s = funnelStats(r);
  return { gap: s.cvr - s.potentialBuyRate, band: 5 * Math.hypot(se(s.cvr, s.clicks), se(s.potentialBuyRate, s.impressions)) };
}

describe('simulator hidden intent (a confounder of click and buy)', () => {
  it('without it, click and buy are independent given the features: p(buy | click, x) = p(buy | x)', () => {
    const r = simulate(ONE_POINT);
    const { gap, band } = clickedMinusPotential(r);
    expect(Math.abs(gap)).toBeLessThan(band);
    // One x: the truth is one number for every impression.
    expect(new Set(r.truePctr).size).toBe(1);
    expect(new Set(r.truePcvr).size).toBe(1);
  });

  it('with it, the same factor raises both click and buy, so clicked rows convert better than p(buy | x)', () => {
    const r = simulate({ ...ONE_POINT, effects: { hiddenIntent: 1 } });
    expect(pearson(r.truePctr, r.truePcvr)).toBeGreaterThan(0.9);
    const { gap, band } = clickedMinusPotential(r);
    expect(gap).toBeGreaterThan(band);
    expect(gap).toBeGreaterThan(0.05); // a bias of the size a click-space model would learn
    // The intercepts are calibrated with the intent included: the targets still hold.
    const s = funnelStats(r);
    expect(Math.abs(s.ctr - 0.1)).toBeLessThan(5 * se(0.1, s.impressions));
    expect(Math.abs(s.cvr - 0.2)).toBeLessThan(5 * se(0.2, s.clicks));
  });

  it('leaves the world and the exposures alone (only the outcomes move)', () => {
    const base = { rows: 5_000, seed: 3, calibrationRows: 5_000 };
    const a = simulate(base);
    const b = simulate({ ...base, effects: { hiddenIntent: 1 } });
    expect(b.item).toEqual(a.item);
    expect(b.user).toEqual(a.user);
    expect(b.truePctr).not.toEqual(a.truePctr);
  });
});
