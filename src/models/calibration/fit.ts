import type { EncodedChunk } from '../../data/batch.js';
import { UserError } from '../../errors.js';
import type { Predictions } from '../model.js';
import { applyCalibratorAll, fitIsotonic, fitIsotonicThroughProduct, fitPlatt, fitPlattThroughProduct, type Calibration, type CalibrationForm, type Calibrator } from './calibrator.js';

/**
 * Fit the configured calibration (train.calibration) on a held-out split's uncalibrated
 * predictions, every impression: pCTR against click, then pCVR against buy through
 * pCTR' x pCVR' (apply.ts says why). `form: 'ratio'` fits the first form instead (pCTCVR against
 * buy, pCVR derived), which no model is given any more; bench/quality.ts compares the two with it.
 */
export function fitCalibration(method: 'platt' | 'isotonic', data: EncodedChunk, pred: Predictions, split: string, form: CalibrationForm = 'product'): Calibration {
  if (data.rows === 0) throw new UserError(`train.calibration: the ${split} split has no rows to fit the calibration on`, { key: 'train.calibration' });
  let clicks = 0;
  for (let i = 0; i < data.rows; i++) clicks += data.labels.click[i]!;
  if (clicks === 0) throw new UserError(`train.calibration: the ${split} split has no clicks; pCTR cannot be calibrated on it`, { key: 'train.calibration' });
  const fit = (scores: Float32Array, labels: Float32Array): Calibrator => (method === 'platt' ? fitPlatt(scores, labels) : fitIsotonic(scores, labels));
  const pctr = fit(pred.pctr, data.labels.click);
  const fitted_on = { rows: data.rows, split };
  if (form === 'ratio') return { method, form, pctr, pctcvr: fit(pred.pctcvr, data.labels.buy), fitted_on };
  // pCTR' exactly as predict computes it (float32), the fixed factor of pCVR's fit.
  const factor = applyCalibratorAll(pctr, pred.pctr);
  const pcvr = method === 'platt'
    ? fitPlattThroughProduct(pred.pcvr, data.labels.buy, factor)
    : fitIsotonicThroughProduct(pred.pcvr, data.labels.buy, factor);
  return { method, form, pctr, pcvr, fitted_on };
}
