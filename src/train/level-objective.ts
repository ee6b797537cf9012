/**
 * The objective of ESMM and ESCM2 as a function of two level shifts (issue 17): every CTR logit
 * moved by alpha and every CVR logit by delta, over a set of training rows,
 *
 *   J(alpha, delta) = w_ctr BCE(click, pCTR') + w_ctcvr BCE(click AND buy, pCTR' pCVR') + lambda R(delta)
 *   R = sum_i o_i BCE(buy_i, pCVR'_i) / clip(pCTR'_i) / N    (ESCM2 eq. 8, IPW)
 *
 * with pCTR' = sigma(logit pCTR + alpha), pCVR' = sigma(logit pCVR + delta), N the rows, or the sum of
 * the weights o_i / clip(pCTR'_i) for the self-normalised risk (model.escm2.self_normalize). These
 * are the terms models/regularizers.ts builds per batch. ESCM2-DR's risk adds the imputed error,
 * which does not depend on the CVR logit, so its dependence on delta is R's; lambda = 0 is ESMM.
 * Each term is a BCE of a sigmoid of the shifted logit (or of a product of two), so J is convex in
 * each shift: a golden-section search per coordinate finds its minimum. At an optimum of the
 * model's objective both best shifts are 0.
 */

/** Labels and the model's pCTR / pCVR on the rows, with optional row weights (a sample's 1 / inclusion rate). */
export interface LevelRows {
  click: Float32Array;
  buy: Float32Array;
  pctr: Float32Array;
  pcvr: Float32Array;
  weight?: Float32Array;
}

export interface LevelSettings {
  /** Loss weights of the CTR and CTCVR terms (model.loss_weights, default 1). */
  wCtr: number;
  wCtcvr: number;
  /** Weight of the counterfactual risk (model.loss_weights.cvr_ipw / cvr_dr); 0 for ESMM. */
  lambda: number;
  floor: number;
  clip: number;
  selfNormalize: boolean;
}

/** The objective's terms at one pair of shifts, and calibration over the same rows. */
export interface LevelObjective {
  ctr: number;
  ctcvr: number;
  risk: number;
  total: number;
  /** mean pCTCVR / mean(click AND buy). */
  ctcvrCalibration: number;
  /** mean pCVR / buy rate over clicked rows. */
  clickedCalibration: number;
}

const EPS = 1e-7;
const bce = (y: number, p: number): number => {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
};
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const logit = (p: number): number => {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
};

/** J and its terms with every CVR logit shifted by `delta` and every CTR logit by `alpha`. */
export function levelObjective(rows: LevelRows, s: LevelSettings, delta: number, alpha = 0): LevelObjective {
  const n = rows.click.length;
  let ctr = 0, ctcvr = 0, riskSum = 0, wSum = 0, total = 0;
  let predCtcvr = 0, obsCtcvr = 0, clickedPred = 0, clickedBuy = 0;
  for (let i = 0; i < n; i++) {
    const rw = rows.weight?.[i] ?? 1;
    const c = rows.click[i]!;
    const b = rows.buy[i]!;
    const pctr = alpha === 0 ? rows.pctr[i]! : sigmoid(logit(rows.pctr[i]!) + alpha);
    const pcvr = delta === 0 ? rows.pcvr[i]! : sigmoid(logit(rows.pcvr[i]!) + delta);
    ctr += rw * bce(c, pctr);
    ctcvr += rw * bce(c * b, pctr * pcvr);
    predCtcvr += rw * pctr * pcvr;
    obsCtcvr += rw * c * b;
    total += rw;
    if (c === 1) {
      const w = rw / Math.min(s.clip, Math.max(s.floor, pctr));
      riskSum += w * bce(b, pcvr);
      wSum += w;
      clickedPred += rw * pcvr;
      clickedBuy += rw * b;
    }
  }
  const risk = s.selfNormalize ? (wSum > 0 ? riskSum / wSum : 0) : riskSum / total;
  return {
    ctr: ctr / total,
    ctcvr: ctcvr / total,
    risk,
    total: (s.wCtr * ctr + s.wCtcvr * ctcvr) / total + s.lambda * risk,
    ctcvrCalibration: predCtcvr / obsCtcvr,
    clickedCalibration: clickedBuy > 0 ? clickedPred / clickedBuy : Number.NaN,
  };
}

/** The x in [lo, hi] that minimises a convex `f` (golden-section search to `tol`). */
export function argminShift(f: (x: number) => number, lo = -4, hi = 4, tol = 1e-3): number {
  const r = (Math.sqrt(5) - 1) / 2;
  let a = lo, b = hi;
  let x1 = b - r * (b - a), x2 = a + r * (b - a);
  let f1 = f(x1), f2 = f(x2);
  while (b - a > tol) {
    if (f1 < f2) {
      b = x2; x2 = x1; f2 = f1; x1 = b - r * (b - a); f1 = f(x1);
    } else {
      a = x1; x1 = x2; f1 = f2; x2 = a + r * (b - a); f2 = f(x2);
    }
  }
  return (a + b) / 2;
}

/** The CVR-logit shift alone that minimises J, its CTCVR term, and its risk term (NaN for ESMM). */
export function bestCvrShifts(rows: LevelRows, s: LevelSettings): { total: number; ctcvr: number; risk: number } {
  return {
    total: argminShift((d) => levelObjective(rows, s, d).total),
    ctcvr: argminShift((d) => levelObjective(rows, s, d).ctcvr),
    risk: s.lambda > 0 ? argminShift((d) => levelObjective(rows, s, d).risk) : Number.NaN,
  };
}

/**
 * The CTR and CVR logit shifts that minimise J together, by coordinate descent (the propensities
 * follow the shifted pCTR, as the next training step's would).
 */
export function bestLevels(rows: LevelRows, s: LevelSettings, rounds = 4): { alpha: number; delta: number } {
  let alpha = 0;
  let delta = 0;
  for (let r = 0; r < rounds; r++) {
    alpha = argminShift((a) => levelObjective(rows, s, delta, a).total);
    delta = argminShift((d) => levelObjective(rows, s, d, alpha).total);
  }
  return { alpha, delta };
}
