/**
 * The simulated world: users and items with latent factors, and the exposure process that decides
 * which (user, item, position) an impression shows. Everything drawn from one seeded stream.
 */
import type { SynthConfig } from './config.js';
import { Rng, searchCumulative } from './prng.js';

export interface SynthWorld {
  latentDim: number;
  // Users.
  userSegment: Int32Array;
  /** Activity level (lognormal); also the user's share of impressions. */
  userActivity: Float64Array;
  /** Standardised log activity. */
  userActivityZ: Float64Array;
  /** users x latentDim, row-major. */
  userLatent: Float64Array;
  /** The user's recent categories (CSR): ids recentCats[recentOffsets[u]..recentOffsets[u+1]]. */
  recentOffsets: Int32Array;
  recentCats: Int32Array;
  segmentClick: Float64Array;
  segmentConv: Float64Array;
  // Items.
  itemCategory: Int32Array;
  itemPrice: Float64Array;
  /** Standardised log price. */
  itemPriceZ: Float64Array;
  /** Drives clicks; negatively correlated with quality (selection bias). */
  itemAttract: Float64Array;
  /** Drives conversion. */
  itemQuality: Float64Array;
  /** items x latentDim, row-major. */
  itemLatent: Float64Array;
  // Exposure.
  userCumulative: Float64Array;
  itemCumulative: Float64Array;
  /** Items ordered by category; catOffsets[c]..catOffsets[c+1] index into it. */
  itemsByCategory: Int32Array;
  catOffsets: Int32Array;
  /** Cumulative popularity along itemsByCategory. */
  catCumulative: Float64Array;
}

/** Weight of the shared (segment or category) component in user and item factors. */
const USER_SEGMENT_SHARE = 0.5;
const ITEM_CATEGORY_SHARE = 0.6;
/** Share of attractiveness/quality variance explained by the item's category. */
const CATEGORY_EFFECT_SHARE = 0.3;

export function buildWorld(cfg: SynthConfig): SynthWorld {
  const rng = new Rng(cfg.seed, 1);
  const d = cfg.latentDim;
  const { users, items, categories: C, segments: S } = cfg;

  const gaussians = (n: number, scale = 1): Float64Array => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
    return out;
  };
  const segCentroid = gaussians(S * d);
  const catCentroid = gaussians(C * d);
  const segmentClick = gaussians(S, cfg.effects.segment);
  const segmentConv = gaussians(S, cfg.effects.segment);
  // Category-level attractiveness and quality, correlated like the item-level ones.
  const rho = cfg.attractQualityCorr;
  const catAttract = new Float64Array(C);
  const catQuality = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const [a, q] = correlatedPair(rng, rho);
    catAttract[c] = a;
    catQuality[c] = q;
  }
  const catLogPrice = new Float64Array(C);
  for (let c = 0; c < C; c++) catLogPrice[c] = 3.5 + 0.6 * rng.normal();

  // Users.
  const userSegment = new Int32Array(users);
  const userActivity = new Float64Array(users);
  const userLatent = new Float64Array(users * d);
  const sw = Math.sqrt(USER_SEGMENT_SHARE);
  const nw = Math.sqrt(1 - USER_SEGMENT_SHARE);
  for (let u = 0; u < users; u++) {
    const s = rng.int(S);
    userSegment[u] = s;
    userActivity[u] = Math.exp(0.7 * rng.normal());
    for (let k = 0; k < d; k++) userLatent[u * d + k] = sw * segCentroid[s * d + k]! + nw * rng.normal();
  }
  const userActivityZ = standardisedLog(userActivity);

  // Recent categories: the 1-4 categories closest to the user's taste, with noise.
  const recentOffsets = new Int32Array(users + 1);
  const recentList: number[] = [];
  const catScore = new Float64Array(C);
  const order = new Int32Array(C);
  for (let u = 0; u < users; u++) {
    for (let c = 0; c < C; c++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += userLatent[u * d + k]! * catCentroid[c * d + k]!;
      catScore[c] = dot / Math.sqrt(d) + 0.7 * rng.normal();
      order[c] = c;
    }
    order.sort((x, y) => catScore[y]! - catScore[x]!);
    const k = Math.min(C, 1 + rng.int(4));
    const picked = Array.from(order.subarray(0, k)).sort((x, y) => x - y);
    recentList.push(...picked);
    recentOffsets[u + 1] = recentList.length;
  }

  // Items. The first C items cover every category once so no category is empty.
  const itemCategory = new Int32Array(items);
  const itemPrice = new Float64Array(items);
  const itemAttract = new Float64Array(items);
  const itemQuality = new Float64Array(items);
  const itemLatent = new Float64Array(items * d);
  const popularity = new Float64Array(items);
  const cw = Math.sqrt(ITEM_CATEGORY_SHARE);
  const iw = Math.sqrt(1 - ITEM_CATEGORY_SHARE);
  const ce = Math.sqrt(CATEGORY_EFFECT_SHARE);
  const ie = Math.sqrt(1 - CATEGORY_EFFECT_SHARE);
  for (let i = 0; i < items; i++) {
    const c = i < C ? i : rng.int(C);
    itemCategory[i] = c;
    itemPrice[i] = Math.exp(catLogPrice[c]! + 0.4 * rng.normal());
    const [a, q] = correlatedPair(rng, rho);
    itemAttract[i] = ce * catAttract[c]! + ie * a;
    itemQuality[i] = ce * catQuality[c]! + ie * q;
    popularity[i] = Math.exp(0.8 * rng.normal());
    for (let k = 0; k < d; k++) itemLatent[i * d + k] = cw * catCentroid[c * d + k]! + iw * rng.normal();
  }
  const itemPriceZ = standardisedLog(itemPrice);

  const itemsByCategory = Int32Array.from({ length: items }, (_, i) => i).sort(
    (x, y) => itemCategory[x]! - itemCategory[y]! || x - y,
  );
  const catOffsets = new Int32Array(C + 1);
  for (let i = 0; i < items; i++) catOffsets[itemCategory[i]! + 1]! += 1;
  for (let c = 0; c < C; c++) catOffsets[c + 1]! += catOffsets[c]!;
  const catCumulative = cumulative(Float64Array.from(itemsByCategory, (i) => popularity[i]!));

  return {
    latentDim: d,
    userSegment,
    userActivity,
    userActivityZ,
    userLatent,
    recentOffsets,
    recentCats: Int32Array.from(recentList),
    segmentClick,
    segmentConv,
    itemCategory,
    itemPrice,
    itemPriceZ,
    itemAttract,
    itemQuality,
    itemLatent,
    userCumulative: cumulative(userActivity),
    itemCumulative: cumulative(popularity),
    itemsByCategory,
    catOffsets,
    catCumulative,
  };
}

/** One impression's (user, item, position), drawn with exactly four uniforms (fixed stream use). */
export interface Exposure {
  user: number;
  item: number;
  position: number;
}

export function drawExposure(world: SynthWorld, cfg: SynthConfig, rng: Rng, out: Exposure): void {
  const uUser = rng.uniform();
  const uMode = rng.uniform();
  const uItem = rng.uniform();
  const uPos = rng.uniform();
  const uc = world.userCumulative;
  const user = searchCumulative(uc, uUser * uc[uc.length - 1]!);
  let item: number;
  if (uMode < cfg.interestExposure) {
    // Recommender-style exposure: one of the user's recent categories, by popularity inside it.
    // uMode / interestExposure is again uniform in [0, 1): reuse it to pick the category.
    const r0 = world.recentOffsets[user]!;
    const nRecent = world.recentOffsets[user + 1]! - r0;
    const cat = world.recentCats[r0 + Math.min(nRecent - 1, Math.floor((uMode / cfg.interestExposure) * nRecent))]!;
    const lo = world.catOffsets[cat]!;
    const hi = world.catOffsets[cat + 1]!;
    const cc = world.catCumulative;
    const base = lo > 0 ? cc[lo - 1]! : 0;
    const at = searchCumulative(cc, base + uItem * (cc[hi - 1]! - base), lo, hi);
    item = world.itemsByCategory[at]!;
  } else {
    const ic = world.itemCumulative;
    item = searchCumulative(ic, uItem * ic[ic.length - 1]!);
  }
  out.user = user;
  out.item = item;
  out.position = Math.min(cfg.positions - 1, Math.floor(uPos * cfg.positions));
}

/** Is the item's category among the user's recent categories? */
export function isRecentCategory(world: SynthWorld, user: number, category: number): boolean {
  for (let j = world.recentOffsets[user]!; j < world.recentOffsets[user + 1]!; j++) {
    if (world.recentCats[j] === category) return true;
  }
  return false;
}

function correlatedPair(rng: Rng, rho: number): [number, number] {
  const z1 = rng.normal();
  const z2 = rng.normal();
  return [z1, rho * z1 + Math.sqrt(1 - rho * rho) * z2];
}

function cumulative(weights: Float64Array): Float64Array {
  const out = new Float64Array(weights.length);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i]!;
    out[i] = acc;
  }
  return out;
}

function standardisedLog(values: Float64Array): Float64Array {
  const n = values.length;
  const logs = Float64Array.from(values, Math.log);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += logs[i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (logs[i]! - mean) ** 2;
  const sd = Math.sqrt(v / n) || 1;
  for (let i = 0; i < n; i++) logs[i] = (logs[i]! - mean) / sd;
  return logs;
}
