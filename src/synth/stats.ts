/**
 * Realised funnel statistics of simulated rows, and their one-screen text form.
 */
import type { SynthConfig } from './config.js';
import type { SynthResult } from './simulate.js';

export interface FunnelStats {
  impressions: number;
  clicks: number;
  carts: number;
  buys: number;
  /** clicks / impressions. */
  ctr: number;
  /** buys / clicks. */
  cvr: number;
  /** buys / impressions. */
  ctcvr: number;
  /** carts / clicks. */
  cartRate: number;
  /** buys / carts and buys / (clicks - carts). */
  buyGivenCart: number;
  buyGivenNoCart: number;
  /** Mean true p(click) and p(buy | click) over all impressions. */
  meanTruePctr: number;
  meanTruePcvr: number;
  /** Mean true p(buy | click) over clicked impressions only: differs under selection bias. */
  meanTruePcvrClicked: number;
  /** Mean potential_buy over all impressions (the entire-space CVR, observable only here). */
  potentialBuyRate: number;
  /** Pearson correlation of true p(click) and true p(buy | click). */
  corrPctrPcvr: number;
}

export function funnelStats(r: SynthResult, start = 0, end = r.rows): FunnelStats {
  let clicks = 0;
  let carts = 0;
  let buys = 0;
  let cartBuys = 0;
  let sCtr = 0;
  let sCvr = 0;
  let sCvrClicked = 0;
  let potential = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = start; i < end; i++) {
    clicks += r.click[i]!;
    carts += r.cart[i]!;
    buys += r.buy[i]!;
    cartBuys += r.cart[i]! & r.buy[i]!;
    const x = r.truePctr[i]!;
    const y = r.truePcvr[i]!;
    sCtr += x;
    sCvr += y;
    if (r.click[i] === 1) sCvrClicked += y;
    potential += r.potentialBuy[i]!;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
  }
  const n = end - start;
  const mx = sCtr / n;
  const my = sCvr / n;
  const cov = sxy / n - mx * my;
  const corr = cov / Math.sqrt(Math.max(0, sxx / n - mx * mx) * Math.max(0, syy / n - my * my));
  return {
    impressions: n,
    clicks,
    carts,
    buys,
    ctr: clicks / n,
    cvr: buys / clicks,
    ctcvr: buys / n,
    cartRate: carts / clicks,
    buyGivenCart: cartBuys / carts,
    buyGivenNoCart: (buys - cartBuys) / (clicks - carts),
    meanTruePctr: mx,
    meanTruePcvr: my,
    meanTruePcvrClicked: sCvrClicked / clicks,
    potentialBuyRate: potential / n,
    corrPctrPcvr: corr,
  };
}

/** What `writeSynth` returns and records in synth.json. */
export interface SynthSummary {
  outDir: string;
  files: { train: string; valid: string; test: string; meta: string };
  config: SynthConfig;
  intercepts: { click: number; cart: number; buy: number };
  stats: { all: FunnelStats; train: FunnelStats; valid: FunnelStats; test: FunnelStats };
}

const pct = (x: number, digits: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : 'n/a');

/** Realised funnel rates next to the configured targets, one line each. */
export function formatFunnelStats(summary: Pick<SynthSummary, 'config' | 'stats'>): string {
  const { all, train, valid, test } = summary.stats;
  const cfg = summary.config;
  const row = (name: string, realised: string, target: string): string =>
    `  ${name.padEnd(22)}${realised.padStart(10)}${target.padStart(10)}`;
  const lines = [
    `impressions ${all.impressions} (train ${train.impressions}, valid ${valid.impressions}, test ${test.impressions}); clicks ${all.clicks}, carts ${all.carts}, buys ${all.buys}`,
    row('rate', 'realised', 'target'),
    row('CTR  p(click)', pct(all.ctr, 3), pct(cfg.ctr, 3)),
    row('CVR  p(buy|click)', pct(all.cvr, 2), pct(cfg.cvr, 2)),
    row('CTCVR p(click,buy)', pct(all.ctcvr, 3), pct(cfg.ctr * cfg.cvr, 3)),
    row('p(cart|click)', pct(all.cartRate, 2), pct(cfg.cartRate, 2)),
    row('p(buy|cart)', pct(all.buyGivenCart, 2), ''),
    row('p(buy|click, no cart)', pct(all.buyGivenNoCart, 2), ''),
    `  selection bias: mean true pCVR ${pct(all.meanTruePcvr, 2)} over all impressions vs ${pct(all.meanTruePcvrClicked, 2)} over clicked; corr(pCTR, pCVR) ${all.corrPctrPcvr.toFixed(3)}`,
  ];
  return lines.join('\n');
}
