/**
 * Is a trained ESMM / ESCM2 model at the optimum of its own objective? (issue 17.)
 *
 * The evidence that ESCM2 was not: shifting the CVR logit by +1 lowered both its own IPW
 * risk and its CTCVR loss on the training rows. This evaluates the same objective over the whole
 * training split with every CVR logit shifted by delta, z_i -> z_i + delta:
 *
 *   J(delta) = BCE(click, pCTR) + BCE(click AND buy, pCTR sigma(z + delta)) + lambda R(delta)
 *   R(delta) = sum_i w_i BCE(buy_i, sigma(z_i + delta)) / N,  w_i = click_i / clip(pCTR_i, floor, clip)
 *
 * with N the row count, or sum_i w_i for the self-normalised risk (model.escm2.self_normalize;
 * regularizers.ts builds the same terms per batch). ESCM2-DR's risk adds the imputed error, which
 * does not depend on the CVR logit, so its delta-dependence is R's. lambda = 0 is plain ESMM.
 * At an optimum of J the best shift is 0; a best shift far from 0 says the optimizer stopped
 * short of (or overshot) the model's own objective in the direction that sets pCVR's level.
 */

/** Per-row inputs: labels and the model's pCTR and pCVR on the training rows. */
export interface ObjectiveRows {
  click: Float32Array;
  buy: Float32Array;
  pctr: Float32Array;
  pcvr: Float32Array;
}

export interface RiskSettings {
  /** Weight of the counterfactual risk (model.loss_weights.cvr_ipw / cvr_dr); 0 for ESMM. */
  lambda: number;
  floor: number;
  clip: number;
  selfNormalize: boolean;
}

/** The objective's terms at one shift, and calibration on the same rows. */
export interface ObjectiveAt {
  ctr: number;
  ctcvr: number;
  risk: number;
  total: number;
  /** mean pCTCVR / mean(click AND buy) over all rows. */
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

/** J and its terms with every CVR logit shifted by `delta` (and every CTR logit by `alpha`). */
export function objectiveAt(rows: ObjectiveRows, s: RiskSettings, delta: number, alpha = 0): ObjectiveAt {
  const n = rows.click.length;
  let ctr = 0, ctcvr = 0, riskSum = 0, wSum = 0;
  let predCtcvr = 0, obsCtcvr = 0, clickedPred = 0, clickedBuy = 0, clicks = 0;
  for (let i = 0; i < n; i++) {
    const c = rows.click[i]!;
    const b = rows.buy[i]!;
    const pctr = alpha === 0 ? rows.pctr[i]! : sigmoid(logit(rows.pctr[i]!) + alpha);
    const pcvr = sigmoid(logit(rows.pcvr[i]!) + delta);
    ctr += bce(c, pctr);
    ctcvr += bce(c * b, pctr * pcvr);
    predCtcvr += pctr * pcvr;
    obsCtcvr += c * b;
    if (c === 1) {
      const w = 1 / Math.min(s.clip, Math.max(s.floor, pctr));
      riskSum += w * bce(b, pcvr);
      wSum += w;
      clickedPred += pcvr;
      clickedBuy += b;
      clicks++;
    }
  }
  const risk = s.selfNormalize ? (wSum > 0 ? riskSum / wSum : 0) : riskSum / n;
  return {
    ctr: ctr / n,
    ctcvr: ctcvr / n,
    risk,
    total: ctr / n + ctcvr / n + s.lambda * risk,
    ctcvrCalibration: predCtcvr / obsCtcvr,
    clickedCalibration: clicks > 0 ? clickedPred / clickedBuy : Number.NaN,
  };
}

/**
 * The shift in [lo, hi] that minimises `f` (golden-section search; J is convex in delta: each
 * term is a BCE of a sigmoid of z + delta, or of a positive multiple of one).
 */
export function argminShift(f: (delta: number) => number, lo = -4, hi = 4, tol = 1e-3): number {
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

/** The best CVR-logit shift for the whole objective, for its CTCVR loss alone and for its risk alone. */
export function bestShifts(rows: ObjectiveRows, s: RiskSettings): { total: number; ctcvr: number; risk: number } {
  return {
    total: argminShift((d) => objectiveAt(rows, s, d).total),
    ctcvr: argminShift((d) => objectiveAt(rows, s, d).ctcvr),
    risk: s.lambda > 0 ? argminShift((d) => objectiveAt(rows, s, d).risk) : Number.NaN,
  };
}

/**
 * The CTR and CVR logit shifts that minimise J together (coordinate descent; the propensities
 * follow the shifted pCTR, as the next training step's would).
 */
export function bestLevels(rows: ObjectiveRows, s: RiskSettings, rounds = 4): { alpha: number; delta: number } {
  let alpha = 0;
  let delta = 0;
  for (let r = 0; r < rounds; r++) {
    alpha = argminShift((a) => objectiveAt(rows, s, delta, a).total);
    delta = argminShift((d) => objectiveAt(rows, s, d, alpha).total);
  }
  return { alpha, delta };
}

/** Predictions with the CTR and CVR logits shifted; pCTCVR = pCTR x pCVR as in ESMM. */
export function shiftPredictions(pctr: Float32Array, pcvr: Float32Array, alpha: number, delta: number): { pctr: Float32Array; pcvr: Float32Array; pctcvr: Float32Array } {
  const out = { pctr: new Float32Array(pctr.length), pcvr: new Float32Array(pctr.length), pctcvr: new Float32Array(pctr.length) };
  for (let i = 0; i < pctr.length; i++) {
    out.pctr[i] = sigmoid(logit(pctr[i]!) + alpha);
    out.pcvr[i] = sigmoid(logit(pcvr[i]!) + delta);
    out.pctcvr[i] = out.pctr[i]! * out.pcvr[i]!;
  }
  return out;
}
