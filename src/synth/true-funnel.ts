/**
 * The known funnel probabilities of one impression.
 *
 *   p(click)          = sigmoid(bClick + sClick)
 *   p(cart | click)   = sigmoid(bCart + sConv)
 *   p(buy | cart)     = sigmoid(bBuy + cartLogOdds + sConv)
 *   p(buy | no cart)  = sigmoid(bBuy + sConv)
 *   p(buy | click)    = p(cart|click) p(buy|cart) + (1 - p(cart|click)) p(buy|no cart)   (ESM2, eq. 3-4)
 *   p(click, buy)     = p(click) p(buy | click)                                          (ESMM, eq. 1)
 *
 * sClick is driven by item attractiveness, affinity in the click subspace, interest match,
 * position and user activity; sConv by item quality (negatively correlated with attractiveness),
 * affinity in a partly different subspace and price. So what is clicked most is not what converts
 * best: the clicked sample is a biased sample of the entire space.
 *
 * Every term above is a function of the impression's features (user, item, position), and click
 * and conversion are drawn independently given them: p(buy | click, x) = p(buy | x), so a model
 * trained on clicked rows targets the right function and only sees fewer rows where clicks are
 * rare. effects.hiddenIntent adds what real shops have on top: an unobserved per-impression
 * intent in both sClick and sConv (addHiddenIntent), so that p(buy | click, x) > p(buy | x).
 */
import type { SynthConfig } from './config.js';
import { isRecentCategory, type SynthWorld } from './world.js';
import type { Rng } from './prng.js';

export interface Intercepts {
  click: number;
  cart: number;
  buy: number;
}

/** Logit scores without intercepts. */
export interface ImpressionScores {
  click: number;
  conv: number;
}

export function scoreImpression(
  world: SynthWorld,
  cfg: SynthConfig,
  user: number,
  item: number,
  position: number,
  out: ImpressionScores,
): void {
  const e = cfg.effects;
  const d = world.latentDim;
  const m = cfg.subspaceDim;
  const ub = user * d;
  const ib = item * d;
  let affClick = 0;
  for (let k = 0; k < m; k++) affClick += world.userLatent[ub + k]! * world.itemLatent[ib + k]!;
  let affConv = 0;
  for (let k = d - m; k < d; k++) affConv += world.userLatent[ub + k]! * world.itemLatent[ib + k]!;
  const norm = 1 / Math.sqrt(m); // unit-variance affinities whatever the subspace size
  const segment = world.userSegment[user]!;
  const interest = isRecentCategory(world, user, world.itemCategory[item]!) ? 1 : 0;
  out.click =
    e.attractiveness * world.itemAttract[item]! +
    e.clickAffinity * affClick * norm +
    e.interestClick * interest -
    e.positionDecay * position +
    e.activityClick * world.userActivityZ[user]! +
    world.segmentClick[segment]!;
  out.conv =
    e.quality * world.itemQuality[item]! +
    e.convAffinity * affConv * norm -
    e.price * world.itemPriceZ[item]! +
    world.segmentConv[segment]!;
}

/**
 * The hidden intent (effects.hiddenIntent): one normal from its own stream `rng`, scaled, added to
 * both logits. Nothing the models see carries it. Draws nothing when the effect is 0, so data
 * without it is unchanged.
 */
export function addHiddenIntent(cfg: SynthConfig, rng: Rng, out: ImpressionScores): void {
  const g = cfg.effects.hiddenIntent;
  if (g === 0) return;
  const u = g * rng.normal();
  out.click += u;
  out.conv += u;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Conditional probabilities of one impression. */
export interface FunnelProbabilities {
  click: number;
  cart: number;
  buyCart: number;
  buyNoCart: number;
  /** p(buy | click), ESM2's decomposition over the cart action. */
  cvr: number;
}

export function funnelProbabilities(
  s: ImpressionScores,
  b: Intercepts,
  cartLogOdds: number,
  out: FunnelProbabilities,
): void {
  out.click = sigmoid(b.click + s.click);
  out.cart = sigmoid(b.cart + s.conv);
  out.buyCart = sigmoid(b.buy + cartLogOdds + s.conv);
  out.buyNoCart = sigmoid(b.buy + s.conv);
  out.cvr = out.cart * out.buyCart + (1 - out.cart) * out.buyNoCart;
}
