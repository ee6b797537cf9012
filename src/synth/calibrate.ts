/**
 * Intercepts chosen so that the expected funnel rates hit the configured targets: bisection on a
 * calibration sample of impressions drawn from its own stream (so it does not depend on `rows`).
 */
import type { SynthConfig } from './config.js';
import { addHiddenIntent, scoreImpression, sigmoid, type Intercepts } from './true-funnel.js';
import { Rng } from './prng.js';
import { drawExposure, type Exposure, type SynthWorld } from './world.js';

/** Streams of the hidden intent: INTENT_STREAM + the stream of the impressions it goes with. */
export const INTENT_STREAM = 100;

/**
 * Click and conversion scores of cfg.calibrationRows impressions drawn from random stream
 * `stream` of the seed (each calibration draws its own sample, independent of `rows`).
 */
export function calibrationSample(world: SynthWorld, cfg: SynthConfig, stream: number): { click: Float64Array; conv: Float64Array } {
  const n = cfg.calibrationRows;
  const rng = new Rng(cfg.seed, stream);
  const intentRng = new Rng(cfg.seed, INTENT_STREAM + stream);
  const click = new Float64Array(n);
  const conv = new Float64Array(n);
  const exposure: Exposure = { user: 0, item: 0, position: 0 };
  const scores = { click: 0, conv: 0 };
  for (let i = 0; i < n; i++) {
    drawExposure(world, cfg, rng, exposure);
    scoreImpression(world, cfg, exposure.user, exposure.item, exposure.position, scores);
    addHiddenIntent(cfg, intentRng, scores);
    click[i] = scores.click;
    conv[i] = scores.conv;
  }
  return { click, conv };
}

export function calibrateIntercepts(world: SynthWorld, cfg: SynthConfig): Intercepts {
  const n = cfg.calibrationRows;
  const { click: sClick, conv: sConv } = calibrationSample(world, cfg, 2);

  // E[p(click)] = ctr.
  const click = solveWeightedIntercept(sClick, undefined, cfg.ctr);
  // Rates given click are means weighted by p(click): that is what carts / clicks and
  // buys / clicks converge to.
  const weight = Float64Array.from(sClick, (s) => sigmoid(click + s));
  let weightSum = 0;
  for (let i = 0; i < n; i++) weightSum += weight[i]!;
  const cart = solveWeightedIntercept(sConv, weight, cfg.cartRate);
  const pCart = Float64Array.from(sConv, (s) => sigmoid(cart + s));
  const L = cfg.cartLogOdds;
  // p(buy | click) = p(cart) p(buy | cart) + (1 - p(cart)) p(buy | no cart)   (ESM2)
  const buy = solveIncreasing((b) => {
    let v = 0;
    let dv = 0;
    for (let i = 0; i < n; i++) {
      const pc = pCart[i]!;
      const p1 = sigmoid(b + L + sConv[i]!);
      const p0 = sigmoid(b + sConv[i]!);
      v += weight[i]! * (pc * p1 + (1 - pc) * p0);
      dv += weight[i]! * (pc * p1 * (1 - p1) + (1 - pc) * p0 * (1 - p0));
    }
    return [v / weightSum, dv / weightSum];
  }, cfg.cvr);
  return { click, cart, buy };
}

/**
 * The intercept b with weighted mean of sigmoid(b + offset_i) equal to target (uniform weights
 * when none are given): how every stage's base rate is calibrated.
 */
export function solveWeightedIntercept(offsets: ArrayLike<number>, weights: ArrayLike<number> | undefined, target: number): number {
  const n = offsets.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += weights === undefined ? 1 : weights[i]!;
  return solveIncreasing((b) => {
    let v = 0;
    let dv = 0;
    for (let i = 0; i < n; i++) {
      const w = weights === undefined ? 1 : weights[i]!;
      const p = sigmoid(b + offsets[i]!);
      v += w * p;
      dv += w * p * (1 - p);
    }
    return [v / total, dv / total];
  }, target);
}

/**
 * Solve f(b) = target for f increasing in b, given [f(b), f'(b)]: Newton steps, falling back to
 * bisection whenever a step leaves the bracket that still holds the root.
 */
export function solveIncreasing(f: (b: number) => [number, number], target: number): number {
  let lo = -40;
  let hi = 40;
  let b = 0;
  for (let it = 0; it < 100; it++) {
    const [v, dv] = f(b);
    const gap = v - target;
    if (Math.abs(gap) < 1e-12 * target) return b;
    if (gap < 0) lo = b;
    else hi = b;
    const step = b - gap / dv;
    b = dv > 0 && step > lo && step < hi ? step : (lo + hi) / 2;
    if (hi - lo < 1e-12) break;
  }
  return b;
}
