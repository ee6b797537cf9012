import type { EncodedChunk } from '../data/batch.js';
import type { EsmmConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { evaluatePredictions, type FlatMetrics } from '../eval/evaluate.js';
import { fitCalibration } from '../models/calibration/fit.js';
import type { FunnelModel } from '../models/model.js';
import type { PreparedFeatures } from './prepare-features.js';

/**
 * Below this many validation buys the log says how uncertain pCVR's fitted level is: in
 * bench/quality.ts at 200k impressions (12-75 validation buys) calibration moved esmm's
 * entire-space pCVR mean away from the truth in 3 of 4 regimes; at 1M (290-330 buys) it brought
 * it within 0.91-1.15 of the truth, 3 seeds, where the regime lets any calibration of it do so.
 */
const FEW_BUYS = 100;

/**
 * train.calibration 'auto' (the default) calibrates with Platt when the validation split holds at
 * least this many buys, else not at all. Measured with bench/quality.ts --calibrations (esmm, 4
 * regimes, 3 seeds): at 200k impressions (12-75 validation buys) calibration moved the
 * entire-space pCVR mean away from the truth in 3 of 4 regimes; at 1M (290-330 buys) Platt brought
 * it to 0.91-1.05 of the truth in the anticorrelated regime (0.73-1.23 without) and left the other
 * regimes where they were (aligned 1.02-1.15 against 0.89-1.14; sparse and confounded within .07).
 * Platt rather than isotonic: it keeps every pCTR and pCVR ranking (isotonic is flat past its end
 * knots), and its two parameters need fewer buys.
 */
export const AUTO_CALIBRATION_MIN_BUYS = 200;

/** The calibration train.calibration asks for on this validation split: 'auto' resolved. */
export function resolveCalibrationMethod(config: EsmmConfig, valid: EncodedChunk | undefined): { method: 'none' | 'platt' | 'isotonic'; why?: string } {
  const asked = config.train.calibration ?? 'auto';
  if (asked !== 'auto') return { method: asked };
  const buys = valid === undefined ? 0 : countBuys(valid);
  if (buys >= AUTO_CALIBRATION_MIN_BUYS) return { method: 'platt' };
  return { method: 'none', why: valid === undefined || valid.rows === 0 ? 'there is no validation split' : `the validation split holds ${buys} buys, under the ${AUTO_CALIBRATION_MIN_BUYS} it needs` };
}

function countBuys(data: EncodedChunk): number {
  let buys = 0;
  for (let i = 0; i < data.rows; i++) buys += data.labels.buy[i]!;
  return buys;
}

/** Refuse train.calibration without a validation split before any training time is spent ('auto' then calibrates nothing). */
export function requireCalibrationSplit(config: EsmmConfig, features: PreparedFeatures): void {
  const method = config.train.calibration ?? 'auto';
  if (method === 'none' || method === 'auto') return;
  if (features.valid === undefined || features.valid.rows === 0) {
    throw new UserError(`calibration '${method}' is fitted on the validation split, and there is none: set data.valid (or train.calibration: none)`, { key: 'train.calibration' });
  }
}

/**
 * After training: fit train.calibration on the validation split's uncalibrated predictions and
 * attach it to the model (saved with it, applied by predict, serve and export): pCTR on click,
 * pCVR on buy through pCTR' x pCVR', both over every impression (models/calibration/apply.ts).
 * Returns what metrics.json records: the method and form, the rows it was fitted on, and the
 * evaluated split's metrics before calibration, so the effect can be read off.
 */
export async function calibrateModel(
  model: FunnelModel, config: EsmmConfig, features: PreparedFeatures, evaluatedOn: string, evalSplit: EncodedChunk, log?: (line: string) => void,
): Promise<{ calibration?: unknown; metrics_uncalibrated?: FlatMetrics }> {
  const asked = config.train.calibration ?? 'auto';
  const { method, why } = resolveCalibrationMethod(config, features.valid);
  if (method === 'none') {
    if (why !== undefined) log?.(`calibration: auto calibrates nothing, because ${why} (train.calibration: platt forces it)`);
    return asked === 'auto' ? { calibration: { method: 'auto', applied: 'none', reason: why } } : {};
  }
  requireCalibrationSplit(config, features);
  model.calibration = undefined;
  const valid = features.valid!;
  model.calibration = fitCalibration(method, valid, await model.predictUncalibrated(valid), 'valid');
  const uncalibrated = evaluatePredictions(evalSplit, await model.predictUncalibrated(evalSplit));
  const knots = (c: { kind: string; x?: number[] }): string => (c.kind === 'isotonic' ? `${c.x!.length} knots` : 'a, b');
  const cal = model.calibration;
  const second = cal.form === 'product' ? `pcvr through pctr' x pcvr' ${knots(cal.pcvr)}` : `pctcvr ${knots(cal.pctcvr)}`;
  const buys = countBuys(valid);
  // pCVR's level is fitted on the buys: with B of them it is known to about 1 / sqrt(B) (Poisson).
  const thin = buys < FEW_BUYS ? `; with ${buys} buys its level is uncertain by about ${buys > 0 ? `${Math.round(100 / Math.sqrt(buys))}%` : '100%'}, and it may do more harm than good` : '';
  log?.(`calibration: ${asked === 'auto' ? 'auto, so ' : ''}${method} fitted on ${valid.rows} validation rows with ${buys} buys (pctr ${knots(cal.pctr)}, ${second}); evaluated on ${evaluatedOn}${thin}`);
  return { calibration: { method: asked, ...(asked === 'auto' ? { applied: method } : {}), form: cal.form, fitted_on: cal.fitted_on }, metrics_uncalibrated: uncalibrated };
}
