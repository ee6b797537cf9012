import type { Predictions } from '../model.js';
import { applyCalibratorAll, RATIO_FLOOR, type Calibration, type RatioCalibration } from './calibrator.js';

/**
 * Calibrated predictions: pCTR' = c1(pCTR), pCVR' = g(pCVR), pCTCVR' = pCTR' x pCVR' (float32
 * product, so the funnel identity holds exactly); pAction unchanged.
 *
 * How pCVR is calibrated without a clicked-only label: as ESMM learns it. A calibrator needs a
 * label on every row it is fitted on, and pCVR's own label (buy given click) exists only on
 * clicked rows; a calibrator fitted there would learn the clicked population's conversion rate
 * and carry the sample selection bias ESMM exists to avoid back into the output. So g is fitted
 * on every impression against buy, through the product pCTR'_i x g(pCVR_i) (calibrator.ts:
 * fitPlattThroughProduct, fitIsotonicThroughProduct), with pCTR' already calibrated on click. g
 * never reverses two rows, so pCVR's AUCs (entire-space and clicked) stay the model's: exactly for
 * Platt (strictly increasing, up to rows float32 rounds onto one value), and for isotonic up to
 * the rows beyond its end knots, which tie.
 *
 * The first form (RatioCalibration, still applied for models saved with it) calibrated pCTCVR on
 * buy on its own and derived pCVR = min(1, pCTCVR' / pCTR'). The ratio of two separately fitted
 * monotone maps is not monotone in the model's pCVR: its isotonic variant lowered entire-space
 * pCVR AUC by 0.02-0.03 in every regime of bench/quality.ts (esmm, 200k impressions, 3 seeds;
 * 1M, 1 seed), while on entire-space pCVR calibration (mean / true) the two forms came out
 * alike, each nearer the truth in some cells (bench/quality.ts --calibrations, issue 13).
 *
 * What no calibration of this kind can fix: g sees pCVR only through the buys of impressions that
 * get clicked, weighted by pCTR'. Where the model's pCTR errs, or clicks and conversions go
 * together, within rows of one pCVR value (the simulator's sparse regime), the rows that weigh in
 * the fit convert differently from the rest, and g inherits that even without label noise (giving
 * g pCTR' as a second covariate does not mend it: bench/quality-calibration.ts, ctr-platt); with
 * clicks and buys confounded by an unobserved intent, nothing fitted on (click, buy) sees the
 * potential-buy rate at all.
 */
export function calibratePredictions(pred: Predictions, cal: Calibration): Predictions {
  if (cal.form === 'ratio') return calibrateRatio(pred, cal);
  const pctr = applyCalibratorAll(cal.pctr, pred.pctr);
  const pcvr = applyCalibratorAll(cal.pcvr, pred.pcvr);
  const pctcvr = new Float32Array(pctr.length);
  for (let i = 0; i < pctr.length; i++) pctcvr[i] = Math.fround(pctr[i]! * pcvr[i]!);
  return { ...pred, pctr, pcvr, pctcvr };
}

/**
 * The ratio form: pCTR and pCTCVR through their calibrators; pCVR = min(1, pCTCVR' /
 * max(pCTR', RATIO_FLOOR)); pCTCVR reported as pCTR' x pCVR' (= min(pCTCVR', pCTR')).
 */
function calibrateRatio(pred: Predictions, cal: RatioCalibration): Predictions {
  const pctr = applyCalibratorAll(cal.pctr, pred.pctr);
  const rawCtcvr = applyCalibratorAll(cal.pctcvr, pred.pctcvr);
  const pcvr = new Float32Array(pctr.length);
  const pctcvr = new Float32Array(pctr.length);
  for (let i = 0; i < pctr.length; i++) {
    // Float32 steps in the exported graph's order: Div, Min, then Mul.
    const r = Math.fround(Math.min(1, Math.fround(rawCtcvr[i]! / Math.max(pctr[i]!, Math.fround(RATIO_FLOOR)))));
    pcvr[i] = r;
    pctcvr[i] = Math.fround(pctr[i]! * r);
  }
  return { ...pred, pctr, pcvr, pctcvr };
}
