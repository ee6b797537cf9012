import type { EncodedChunk } from '../../data/batch.js';
import { UserError } from '../../errors.js';
import type { Predictions } from '../model.js';
import { fitIsotonic, fitPlatt, type Calibration, type Calibrator } from './calibrator.js';

/**
 * Fit the configured calibration (train.calibration) on a held-out split's uncalibrated
 * predictions: pCTR against click and pCTCVR against buy, both over every impression.
 */
export function fitCalibration(method: 'platt' | 'isotonic', data: EncodedChunk, pred: Predictions, split: string): Calibration {
  if (data.rows === 0) throw new UserError(`train.calibration: the ${split} split has no rows to fit the calibration on`, { key: 'train.calibration' });
  let clicks = 0;
  for (let i = 0; i < data.rows; i++) clicks += data.labels.click[i]!;
  if (clicks === 0) throw new UserError(`train.calibration: the ${split} split has no clicks; pCTR cannot be calibrated on it`, { key: 'train.calibration' });
  const fit = (scores: Float32Array, labels: Float32Array): Calibrator => (method === 'platt' ? fitPlatt(scores, labels) : fitIsotonic(scores, labels));
  return {
    method,
    pctr: fit(pred.pctr, data.labels.click),
    pctcvr: fit(pred.pctcvr, data.labels.buy),
    fitted_on: { rows: data.rows, split },
  };
}
