/**
 * Post-hoc probability calibrators fitted on held-out rows (validation): Platt scaling (Platt
 * 1999, with the fitting method of Lin, Lin & Weng 2007) and isotonic regression by
 * pool-adjacent-violators (Zadrozny & Elkan 2002; Niculescu-Mizil & Caruana 2005). Both are
 * monotone maps p -> p', so they never change an AUC computed on the probability they calibrate.
 *
 * pCTR's calibrator is fitted on click over every impression. pCVR's is fitted through the
 * product, as ESMM trains pCVR: on buy over every impression, with the likelihood of
 * pCTR'_i x g(pCVR_i) (fitPlattThroughProduct, fitIsotonicThroughProduct; apply.ts says why).
 *
 * The TypeScript `apply` here and the ONNX nodes of onnx-nodes.ts compute the same function in
 * the same steps (float32 constants, the same clamps), so predict, serve and export agree.
 */

/** sigmoid(a * logit(p) + b), with p clamped to [PLATT_EPS, 1 - PLATT_EPS] first. */
export interface PlattCalibrator {
  kind: 'platt';
  a: number;
  b: number;
}

/**
 * A non-decreasing piecewise-linear map through knots (x[k], y[k]), x strictly increasing:
 * constant y[0] below x[0] and y[K-1] above x[K-1]. The knots are the PAV blocks' weighted mean
 * scores and values (centred isotonic regression, Oron & Flournoy 2017), not sklearn's block
 * ends: a ramp from one block's last score to the next block's first can be arbitrarily steep,
 * and would turn a 1-ulp difference between two runtimes' scores into a visible one.
 */
export interface IsotonicCalibrator {
  kind: 'isotonic';
  x: number[];
  y: number[];
}

export type Calibrator = PlattCalibrator | IsotonicCalibrator;
export type CalibrationMethod = 'none' | 'platt' | 'isotonic';

interface CalibrationBase {
  method: 'platt' | 'isotonic';
  /** pCTR' = pctr(pCTR), fitted on click over every impression. */
  pctr: Calibrator;
  /** Rows the calibrators were fitted on and where they came from, for the record. */
  fitted_on: { rows: number; split: string };
}

/**
 * What models trained since the product form carry (`form: 'product'` in calibration.json):
 * pCVR' = pcvr(pCVR), fitted on buy over every impression through pCTR' x pCVR';
 * pCTCVR' = pCTR' x pCVR'.
 */
export interface ProductCalibration extends CalibrationBase {
  form: 'product';
  pcvr: Calibrator;
}

/**
 * The first form (calibration.json without `form`; still loaded and applied as it was): pCTCVR
 * calibrated on buy on its own, pCVR derived as min(1, pCTCVR' / pCTR'). Not monotone in the
 * model's pCVR, it moved pCVR's AUC (isotonic: 0.02-0.03 lower) without calibrating pCVR better
 * (apply.ts), so nothing fits it for a model any more.
 */
export interface RatioCalibration extends CalibrationBase {
  form: 'ratio';
  pctcvr: Calibrator;
}

/** What a model carries (calibratePredictions applies it). */
export type Calibration = ProductCalibration | RatioCalibration;
export type CalibrationForm = Calibration['form'];

/** Probabilities are clamped to [PLATT_EPS, 1 - PLATT_EPS] before their logit is taken. */
export const PLATT_EPS = 1e-7;
/** Isotonic outputs are kept in [ISO_EPS, 1 - ISO_EPS]: an exact 0 or 1 gives infinite logloss. */
export const ISO_EPS = 1e-6;
/** The denominator of the ratio form's derived pCVR = pCTCVR / pCTR is at least this. */
export const RATIO_FLOOR = 1e-12;

const f32 = Math.fround;

// ------------------------------------------------------------------------------------- Platt

/**
 * What both Platt fits start from: each row's weight, their sum, z = logit(score), and Platt's
 * smoothed targets t+ = (N+ + 1) / (N+ + 2), t- = 1 / (N- + 2) (N counted in weight).
 */
function plattTargets(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): { wt: (i: number) => number; all: number; z: Float64Array; t: Float64Array } {
  const n = scores.length;
  const wt = (i: number): number => (weights === undefined ? 1 : weights[i]!);
  let pos = 0;
  let all = 0;
  for (let i = 0; i < n; i++) {
    all += wt(i);
    if (labels[i]! > 0.5) pos += wt(i);
  }
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (all - pos + 2);
  const z = new Float64Array(n);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    z[i] = logit(scores[i]!);
    t[i] = labels[i]! > 0.5 ? hi : lo;
  }
  return { wt, all, z, t };
}

/**
 * Platt scaling: minimise the cross-entropy of sigmoid(a z + b), z = logit(p), against Platt's
 * smoothed targets t+ = (N+ + 1) / (N+ + 2), t- = 1 / (N- + 2) (so separable data gives finite
 * a, b instead of a -> infinity), by Newton's method with backtracking (Lin, Lin & Weng 2007).
 */
export function fitPlatt(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): PlattCalibrator {
  const n = scores.length;
  const { wt, all, z, t } = plattTargets(scores, labels, weights);
  const objective = (a: number, b: number): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const u = a * z[i]! + b;
      // -(t log s(u) + (1 - t) log(1 - s(u))) = softplus(u) - t u, computed stably.
      f += wt(i) * ((u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u))) - t[i]! * u);
    }
    return f;
  };
  let a = 1;
  let b = 0;
  let f = objective(a, b);
  for (let iter = 0; iter < 100; iter++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-12;
    let hab = 0;
    let hbb = 1e-12;
    for (let i = 0; i < n; i++) {
      const s = sigmoid(a * z[i]! + b);
      const d = wt(i) * (s - t[i]!);
      const w = wt(i) * s * (1 - s);
      ga += d * z[i]!;
      gb += d;
      haa += w * z[i]! * z[i]!;
      hab += w * z[i]!;
      hbb += w;
    }
    if (Math.abs(ga) < 1e-9 * Math.max(1, all) && Math.abs(gb) < 1e-9 * Math.max(1, all)) break;
    const det = haa * hbb - hab * hab;
    const da = -(hbb * ga - hab * gb) / det;
    const db = -(-hab * ga + haa * gb) / det;
    const next = backtrack(objective, { a, b, f }, da, db, ga * da + gb * db);
    if (next === undefined) break;
    ({ a, b, f } = next);
  }
  return { kind: 'platt', a, b };
}

/**
 * Backtracking line search along the Newton direction (da, db) from `at`: the first of step 1,
 * 1/2, 1/4, ... (down to 1e-10) that meets the Armijo condition f(new) < f + 1e-4 step slope,
 * slope = gradient . direction; undefined when none does (converged to float precision).
 */
function backtrack(objective: (a: number, b: number) => number, at: { a: number; b: number; f: number }, da: number, db: number, slope: number): { a: number; b: number; f: number } | undefined {
  for (let step = 1; step >= 1e-10; step /= 2) {
    const a = at.a + step * da;
    const b = at.b + step * db;
    const f = objective(a, b);
    if (f < at.f + 1e-4 * step * slope) return { a, b, f };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------- isotonic

/**
 * Isotonic regression of labels on scores (non-decreasing), by pool-adjacent-violators: rows
 * sorted by score, tied scores pooled first, then adjacent blocks merged while a block's mean is
 * not below its successor's. Each block becomes one knot at its weighted mean score.
 */
export function fitIsotonic(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): IsotonicCalibrator {
  const n = scores.length;
  if (n === 0) throw new Error('fitIsotonic: no rows');
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[i]! - scores[j]!);
  // Blocks as parallel stacks: weight, weighted label sum, weighted score sum, smallest and largest score.
  const w: number[] = [];
  const s: number[] = [];
  const sx: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  for (const i of order) {
    const x = scores[i]!;
    const wi = weights === undefined ? 1 : weights[i]!;
    if (!(wi > 0)) continue;
    const top = w.length - 1;
    if (top >= 0 && hi[top] === x) {
      // A tie with the last block's largest score: the same input must get the same output.
      w[top]! += wi;
      s[top]! += wi * labels[i]!;
      sx[top]! += wi * x;
    } else {
      w.push(wi);
      s.push(wi * labels[i]!);
      sx.push(wi * x);
      lo.push(x);
      hi.push(x);
    }
    // Pool while the previous block's mean >= the last block's mean.
    while (w.length >= 2) {
      const k = w.length - 1;
      if (s[k - 1]! / w[k - 1]! < s[k]! / w[k]!) break;
      w[k - 1]! += w[k]!;
      s[k - 1]! += s[k]!;
      sx[k - 1]! += sx[k]!;
      hi[k - 1] = hi[k]!;
      w.pop();
      s.pop();
      sx.pop();
      lo.pop();
      hi.pop();
    }
  }
  if (w.length === 0) throw new Error('fitIsotonic: no rows with positive weight');
  const x: number[] = [];
  const y: number[] = [];
  for (let k = 0; k < w.length; k++) {
    const v = Math.min(1 - ISO_EPS, Math.max(ISO_EPS, s[k]! / w[k]!));
    // The block's weighted mean score, kept inside [lo, hi] against rounding.
    pushKnot(x, y, Math.min(hi[k]!, Math.max(lo[k]!, sx[k]! / w[k]!)), v);
  }
  return { kind: 'isotonic', x, y };
}

/** Knots are stored as float32 (the exported graph's constants); coinciding knots are dropped. */
function pushKnot(x: number[], y: number[], xv: number, yv: number): void {
  const fx = f32(xv);
  if (x.length > 0 && fx <= x[x.length - 1]!) {
    y[y.length - 1] = Math.max(y[y.length - 1]!, f32(yv));
    return;
  }
  x.push(fx);
  y.push(f32(yv));
}

/**
 * The tables the isotonic map is evaluated with, in TypeScript and in ONNX alike: segment k
 * (k = number of knots x[1..K-1] that are <= p) starts at xs[k] with value ys[k] and slope
 * slopes[k]; the last segment is flat. p is first raised to at least x[0].
 */
export function isotonicSegments(c: IsotonicCalibrator): { breaks: Float32Array; xs: Float32Array; ys: Float32Array; slopes: Float32Array } {
  const k = c.x.length;
  const breaks = Float32Array.from(c.x.slice(1));
  const xs = Float32Array.from(c.x);
  const ys = Float32Array.from(c.y);
  const slopes = new Float32Array(k);
  for (let i = 0; i + 1 < k; i++) slopes[i] = (c.y[i + 1]! - c.y[i]!) / (c.x[i + 1]! - c.x[i]!);
  return { breaks, xs, ys, slopes };
}

// ------------------------------------------------------------------ through the product

/**
 * pCTR' used as the fixed factor of a product fit is kept in [PRODUCT_FACTOR_MIN, 1 - PLATT_EPS]:
 * above 0 so the isotonic weights are positive, below 1 so 1 - pCTR' g stays positive.
 */
const PRODUCT_FACTOR_MIN = 1e-12;

/**
 * The Platt slope through the product is at least this: g stays increasing, so pCVR keeps the
 * model's order (its AUC) even where a small validation split would make the best fit decreasing.
 */
export const PRODUCT_MIN_SLOPE = 0.01;

function productFactor(c: number): number {
  return Math.min(1 - PLATT_EPS, Math.max(PRODUCT_FACTOR_MIN, c));
}

/**
 * Platt scaling of pCVR through the product: g(p) = sigmoid(a logit(p) + b) minimising
 *   F(a, b) = sum_i w_i BCE(t_i, c_i g(p_i)),
 * with c_i = pCTR'_i fixed, t_i Platt's smoothed targets of the buy labels (as fitPlatt: finite
 * a, b on separable data; the targets' sum stays the number of buys within 1), every impression.
 *
 * Derivation, per row, with u = a z + b (z = logit p), g = sigmoid(u), g' = dg/du = g (1 - g):
 *   f(u)   = -t log(c g) - (1 - t) log(1 - c g)
 *   df/dg  = -t / g + (1 - t) c / (1 - c g) = (c g - t) / (g (1 - c g))
 *   h      = df/du = df/dg g' = (1 - g)(c g - t) / (1 - c g)        (c = 1: g - t, plain Platt)
 *   dh/dg  = [(c (1 - 2g) + t)(1 - c g) + c (c g - t)(1 - g)] / (1 - c g)^2
 *   k      = d2f/du2 = dh/dg g'
 * and by the chain rule (du/da = z, du/db = 1): gradient sum w h (z, 1), Hessian
 * sum w k [[z^2, z], [z, 1]]. Unlike plain Platt, f is not convex in u when t = 0 and c g is
 * large (1 - 2g + c g^2 < 0), so where that Hessian is not positive definite the step uses the
 * expected one instead (Fisher scoring): E_t[k] = c g (1 - g)^2 / (1 - c g) > 0, the information
 * of a Bernoulli with mean c g(u). Either way the step is a descent direction, and a backtracking
 * (Armijo) line search makes every accepted step lower F. 1 - g and 1 - c g are computed as
 * sigmoid(-u) and (1 - c) + c sigmoid(-u), exact where g rounds to 1. g must not decrease: when
 * the best slope is below PRODUCT_MIN_SLOPE, a is held there and b alone is fitted.
 */
export function fitPlattThroughProduct(scores: ArrayLike<number>, labels: ArrayLike<number>, factors: ArrayLike<number>, weights?: ArrayLike<number>): PlattCalibrator {
  const n = scores.length;
  const { wt, all, z, t } = plattTargets(scores, labels, weights);
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) c[i] = productFactor(factors[i]!);
  const objective = (a: number, b: number): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const u = a * z[i]! + b;
      // -t log g = t softplus(-u) (log c is a constant and left out); 1 - c g as above.
      const logG = -softplus(-u);
      const oneMinusCg = 1 - c[i]! + c[i]! * sigmoid(-u);
      f += wt(i) * (-t[i]! * logG - (1 - t[i]!) * Math.log(oneMinusCg));
    }
    return f;
  };
  // Newton on (a, b), or on b alone with a held at `fixedA`.
  const minimise = (a0: number, b0: number, fixedA?: number): { a: number; b: number } => {
    let a = fixedA ?? a0;
    let b = b0;
    let f = objective(a, b);
    for (let iter = 0; iter < 100; iter++) {
      let ga = 0;
      let gb = 0;
      let haa = 0;
      let hab = 0;
      let hbb = 0;
      let faa = 1e-12;
      let fab = 0;
      let fbb = 1e-12;
      for (let i = 0; i < n; i++) {
        const u = a * z[i]! + b;
        const g = sigmoid(u);
        const gc = sigmoid(-u); // 1 - g
        const ci = c[i]!;
        const ti = t[i]!;
        const d = 1 - ci + ci * gc; // 1 - c g
        const h = (wt(i) * gc * (ci * g - ti)) / d;
        const k = (wt(i) * g * gc * ((ci * (1 - 2 * g) + ti) * d + ci * (ci * g - ti) * gc)) / (d * d);
        const kf = (wt(i) * ci * g * gc * gc) / d;
        const zi = z[i]!;
        ga += h * zi;
        gb += h;
        haa += k * zi * zi;
        hab += k * zi;
        hbb += k;
        faa += kf * zi * zi;
        fab += kf * zi;
        fbb += kf;
      }
      if (fixedA !== undefined) ga = 0;
      if (Math.abs(ga) < 1e-9 * Math.max(1, all) && Math.abs(gb) < 1e-9 * Math.max(1, all)) break;
      let da = 0;
      let db: number;
      if (fixedA !== undefined) {
        db = -gb / (hbb > 0 ? hbb : fbb);
      } else {
        // The exact Hessian where it is positive definite, else the expected one.
        const exact = haa > 0 && haa * hbb - hab * hab > 1e-12 * Math.max(1, haa * hbb);
        const [xaa, xab, xbb] = exact ? [haa, hab, hbb] : [faa, fab, fbb];
        const det = xaa * xbb - xab * xab;
        da = -(xbb * ga - xab * gb) / det;
        db = -(-xab * ga + xaa * gb) / det;
      }
      const slope = ga * da + gb * db;
      if (!(slope < 0)) break;
      const next = backtrack(objective, { a, b, f }, da, db, slope);
      if (next === undefined) break;
      ({ a, b, f } = next);
    }
    return { a, b };
  };
  const free = minimise(1, 0);
  if (free.a >= PRODUCT_MIN_SLOPE) return { kind: 'platt', a: free.a, b: free.b };
  // Validation ranks buys against the model's pCVR (too few of them, or a model that learned
  // nothing): keep the model's order with the smallest slope allowed, and fit the level.
  const held = minimise(PRODUCT_MIN_SLOPE, free.b, PRODUCT_MIN_SLOPE);
  return { kind: 'platt', a: held.a, b: held.b };
}

/**
 * Isotonic regression of pCVR through the product: rows sorted by pCVR, weighted PAV of
 * buy_i / c_i with weights c_i (c = pCTR'), so each block's value is sum buy / sum pCTR', the
 * block's buys over its expected clicks: the maximum-likelihood rate of buys ~ Poisson(c g) with
 * g constant on the block (for rare buys, where c g is small, that of the Bernoulli too), and PAV
 * with these weights gives the isotonic maximum-likelihood fit of that model. Knots as
 * fitIsotonic (centred at the blocks' pCTR'-weighted mean scores), values in [ISO_EPS, 1 - ISO_EPS].
 */
export function fitIsotonicThroughProduct(scores: ArrayLike<number>, labels: ArrayLike<number>, factors: ArrayLike<number>): IsotonicCalibrator {
  const n = scores.length;
  const y = new Float64Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    w[i] = productFactor(factors[i]!);
    y[i] = labels[i]! / w[i]!;
  }
  return fitIsotonic(scores, y, w);
}

// ------------------------------------------------------------------------------------ apply

/** The calibrated probability of one score (float32 arithmetic, as the exported graph does it). */
export function applyCalibrator(c: Calibrator, p: number): number {
  if (c.kind === 'platt') {
    const q = f32(Math.min(f32(1 - PLATT_EPS), Math.max(f32(PLATT_EPS), p)));
    const z = f32(f32(Math.log(q)) - f32(Math.log(f32(1 - q))));
    const u = f32(f32(f32(c.a) * z) + f32(c.b));
    return f32(1 / f32(1 + f32(Math.exp(-u))));
  }
  return applyIsotonic(c, isotonicSegments(c), p);
}

/** Calibrate a whole array (the segment tables built once). */
export function applyCalibratorAll(c: Calibrator, ps: Float32Array): Float32Array {
  const out = new Float32Array(ps.length);
  if (c.kind === 'platt') {
    for (let i = 0; i < ps.length; i++) out[i] = applyCalibrator(c, ps[i]!);
    return out;
  }
  const seg = isotonicSegments(c);
  for (let i = 0; i < ps.length; i++) out[i] = applyIsotonic(c, seg, ps[i]!);
  return out;
}

function applyIsotonic(c: IsotonicCalibrator, seg: ReturnType<typeof isotonicSegments>, p: number): number {
  const q = Math.max(p, seg.xs[0]!);
  // k = #breaks <= q (binary search over the sorted breaks).
  let lo = 0;
  let hi = seg.breaks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (seg.breaks[mid]! <= q) lo = mid + 1;
    else hi = mid;
  }
  const k = lo;
  if (c.x.length === 1) return seg.ys[0]!;
  return f32(seg.ys[k]! + f32(seg.slopes[k]! * f32(q - seg.xs[k]!)));
}

// ------------------------------------------------------------------------------- validation

/**
 * Check a calibration read from a model directory; throws with `what` naming the file. A file
 * without `form` was written before the product form existed: it is the ratio form, and is
 * returned with `form: 'ratio'` so that it is applied as it was.
 */
export function checkCalibration(v: unknown, what: string): Calibration {
  const fail = (msg: string): never => {
    throw new Error(`${what}: ${msg}`);
  };
  if (v === null || typeof v !== 'object') fail('not an object');
  const o = v as Record<string, unknown>;
  if (o.method !== 'platt' && o.method !== 'isotonic') fail(`unknown calibration method ${JSON.stringify(o.method)}`);
  const form = o.form === undefined ? 'ratio' : o.form;
  if (form !== 'ratio' && form !== 'product') fail(`unknown calibration form ${JSON.stringify(o.form)}`);
  for (const k of ['pctr', form === 'product' ? 'pcvr' : 'pctcvr'] as const) {
    const c = o[k] as Record<string, unknown> | undefined;
    if (c === undefined || c === null || typeof c !== 'object') fail(`missing calibrator '${k}'`);
    if (c!.kind === 'platt') {
      if (typeof c!.a !== 'number' || typeof c!.b !== 'number' || !Number.isFinite(c!.a) || !Number.isFinite(c!.b)) fail(`'${k}': bad Platt coefficients`);
    } else if (c!.kind === 'isotonic') {
      const x = c!.x as unknown;
      const y = c!.y as unknown;
      if (!Array.isArray(x) || !Array.isArray(y) || x.length === 0 || x.length !== y.length) fail(`'${k}': bad isotonic knots`);
      const xs = x as unknown[];
      const ys = y as unknown[];
      for (let i = 0; i < xs.length; i++) {
        if (typeof xs[i] !== 'number' || typeof ys[i] !== 'number') fail(`'${k}': knot ${i} is not numeric`);
        if (i > 0 && !((xs[i] as number) > (xs[i - 1] as number))) fail(`'${k}': knots are not strictly increasing`);
      }
    } else fail(`'${k}': unknown calibrator kind`);
  }
  return { ...o, form } as unknown as Calibration;
}

function logit(p: number): number {
  const q = Math.min(1 - PLATT_EPS, Math.max(PLATT_EPS, p));
  return Math.log(q) - Math.log(1 - q);
}

function softplus(u: number): number {
  return u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u));
}

function sigmoid(u: number): number {
  return u >= 0 ? 1 / (1 + Math.exp(-u)) : Math.exp(u) / (1 + Math.exp(u));
}
