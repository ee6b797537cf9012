import type { Predictions } from '../model.js';
import { applyCalibratorAll, RATIO_FLOOR, type Calibration } from './calibrator.js';

/**
 * Calibrated predictions: pCTR and pCTCVR through their calibrators; pCVR derived as
 * min(1, pCTCVR' / max(pCTR', RATIO_FLOOR)); pCTCVR reported as pCTR' x pCVR' (= min(pCTCVR',
 * pCTR')); pAction unchanged.
 *
 * Why pCVR is derived rather than calibrated itself: a calibrator needs a label on every row it
 * is fitted on. pCTR (click) and pCTCVR (click and buy) have one on every impression, so their
 * calibrators are fitted on the entire space, the space pCVR is used on. pCVR's own label (buy
 * given click) exists only on clicked rows; a calibrator fitted there would learn the clicked
 * population's conversion rate and carry the sample selection bias ESMM exists to avoid back
 * into the output. The ratio of two entire-space-calibrated probabilities keeps the funnel
 * identity pCTCVR = pCTR x pCVR, and is clipped to [0, 1] because two independently calibrated
 * maps can put pCTCVR' above pCTR' on a few rows.
 */
export function calibratePredictions(pred: Predictions, cal: Calibration): Predictions {
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
