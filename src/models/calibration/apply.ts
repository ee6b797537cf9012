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
 * fitPlattThroughProduct, fitIsotonicThroughProduct), with pCTR' already calibrated on click. g is
 * monotone, so pCVR AUC (entire-space and clicked) is exactly what the model had.
 *
 * The first form (RatioCalibration, still applied for models saved with it) calibrated pCTCVR on
 * buy on its own and derived pCVR = min(1, pCTCVR' / pCTR'). The ratio of two separately fitted
 * monotone maps is not monotone in the model's pCVR: it lowered pCVR AUC (esmm sparse .731 ->
 * .709 isotonic) and moved entire-space pCVR calibration away from the truth (1.09 -> 1.58-1.83),
 * because nothing in it ties the fitted pCTCVR map to the pCVR ranking (bench/quality.ts
 * --calibrations, issue 13).
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
