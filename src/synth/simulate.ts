/**
 * Draw impressions and their funnel outcomes from known probabilities, in memory and columnar.
 */
import { resolveSynthConfig, type SynthConfig, type SynthConfigInput } from './config.js';
import { calibrateIntercepts, INTENT_STREAM } from './calibrate.js';
import { addHiddenIntent, funnelProbabilities, scoreImpression, type FunnelProbabilities, type Intercepts } from './true-funnel.js';
import { Rng } from './prng.js';
import { buildWorld, drawExposure, type Exposure, type SynthWorld } from './world.js';
import { allocateChain, calibrateChain, drawChainRow, type ChainColumns } from './chain.js';

/** Row ranges [start, end) of the three splits, in row order. */
export interface SplitRanges {
  train: [number, number];
  valid: [number, number];
  test: [number, number];
}

export interface SynthResult {
  config: SynthConfig;
  intercepts: Intercepts;
  world: SynthWorld;
  rows: number;
  split: SplitRanges;
  /** Per-impression features (world indices; the item's category and price come via world). */
  user: Int32Array;
  item: Int32Array;
  /** 0-based display position. */
  position: Int32Array;
  /** Observed labels. */
  click: Uint8Array;
  cart: Uint8Array;
  buy: Uint8Array;
  /** Truth for every impression. */
  truePctr: Float64Array;
  /** p(buy | click). */
  truePcvr: Float64Array;
  truePctcvr: Float64Array;
  /** p(cart | click). */
  truePcart: Float64Array;
  /** Outcome had the impression been clicked; equals the observed one on clicked rows. */
  potentialCart: Uint8Array;
  potentialBuy: Uint8Array;
  /**
   * Chain mode (config.stages): stage intercepts and, per stage after the click, labels and
   * p(stage | previous stage). Then cart is the second stage, buy the last, truePcvr p(last | click).
   */
  chain?: ChainColumns & { intercepts: number[] };
}

export function simulate(input: SynthConfigInput = {}): SynthResult {
  const cfg = resolveSynthConfig(input);
  const world = buildWorld(cfg);
  const intercepts = calibrateIntercepts(world, cfg);
  const n = cfg.rows;
  const rng = new Rng(cfg.seed, 3);
  const intentRng = new Rng(cfg.seed, INTENT_STREAM + 3);
  const r: SynthResult = {
    config: cfg,
    intercepts,
    world,
    rows: n,
    split: splitRanges(n, cfg.split),
    user: new Int32Array(n),
    item: new Int32Array(n),
    position: new Int32Array(n),
    click: new Uint8Array(n),
    cart: new Uint8Array(n),
    buy: new Uint8Array(n),
    truePctr: new Float64Array(n),
    truePcvr: new Float64Array(n),
    truePctcvr: new Float64Array(n),
    truePcart: new Float64Array(n),
    potentialCart: new Uint8Array(n),
    potentialBuy: new Uint8Array(n),
  };
  const chainIntercepts = cfg.stages.length > 0 ? calibrateChain(world, cfg, intercepts.click) : undefined;
  if (chainIntercepts !== undefined) r.chain = { ...allocateChain(chainIntercepts.length, n), intercepts: chainIntercepts };
  const exposure: Exposure = { user: 0, item: 0, position: 0 };
  const scores = { click: 0, conv: 0 };
  const p: FunnelProbabilities = { click: 0, cart: 0, buyCart: 0, buyNoCart: 0, cvr: 0 };
  for (let i = 0; i < n; i++) {
    drawExposure(world, cfg, rng, exposure);
    scoreImpression(world, cfg, exposure.user, exposure.item, exposure.position, scores);
    addHiddenIntent(cfg, intentRng, scores);
    funnelProbabilities(scores, intercepts, cfg.cartLogOdds, p);
    // Potential outcomes are drawn for every impression (fixed three uniforms a row), then
    // observed only where the click happened: buy = click * potential_buy.
    const click = rng.bernoulli(p.click);
    if (r.chain !== undefined) {
      const [pcvr, potential, potentialFirst] = drawChainRow(r.chain, r.chain.intercepts, scores.conv, click, rng, i);
      p.cvr = pcvr;
      p.cart = r.chain.truth[0]![i]!;
      r.potentialCart[i] = potentialFirst;
      r.potentialBuy[i] = potential;
      r.cart[i] = r.chain.labels[0]![i]!;
      r.buy[i] = r.chain.labels[r.chain.labels.length - 1]![i]!;
      r.user[i] = exposure.user;
      r.item[i] = exposure.item;
      r.position[i] = exposure.position;
      r.click[i] = click;
      r.truePctr[i] = p.click;
      r.truePcvr[i] = p.cvr;
      r.truePctcvr[i] = p.click * p.cvr;
      r.truePcart[i] = p.cart;
      continue;
    }
    const potentialCart = rng.bernoulli(p.cart);
    const potentialBuy = rng.bernoulli(potentialCart === 1 ? p.buyCart : p.buyNoCart);
    r.user[i] = exposure.user;
    r.item[i] = exposure.item;
    r.position[i] = exposure.position;
    r.click[i] = click;
    r.cart[i] = click & potentialCart;
    r.buy[i] = click & potentialBuy;
    r.truePctr[i] = p.click;
    r.truePcvr[i] = p.cvr;
    r.truePctcvr[i] = p.click * p.cvr;
    r.truePcart[i] = p.cart;
    r.potentialCart[i] = potentialCart;
    r.potentialBuy[i] = potentialBuy;
  }
  return r;
}

export function splitRanges(n: number, split: [number, number, number]): SplitRanges {
  const a = Math.round(n * split[0]);
  const b = Math.min(n, a + Math.round(n * split[1]));
  return { train: [0, a], valid: [a, b], test: [b, n] };
}
