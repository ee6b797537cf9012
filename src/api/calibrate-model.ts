import type { EncodedChunk } from '../data/batch.js';
import type { EsmmConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { evaluatePredictions, type FlatMetrics } from '../eval/evaluate.js';
import { fitCalibration } from '../models/calibration/fit.js';
import type { FunnelModel } from '../models/model.js';
import type { PreparedFeatures } from './prepare-features.js';

/** Refuse train.calibration without a validation split before any training time is spent. */
export function requireCalibrationSplit(config: EsmmConfig, features: PreparedFeatures): void {
  const method = config.train.calibration ?? 'none';
  if (method === 'none') return;
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
  const method = config.train.calibration ?? 'none';
  if (method === 'none') return {};
  requireCalibrationSplit(config, features);
  model.calibration = undefined;
  const valid = features.valid!;
  model.calibration = fitCalibration(method, valid, await model.predictUncalibrated(valid), 'valid');
  const uncalibrated = evaluatePredictions(evalSplit, await model.predictUncalibrated(evalSplit));
  const knots = (c: { kind: string; x?: number[] }): string => (c.kind === 'isotonic' ? `${c.x!.length} knots` : 'a, b');
  const cal = model.calibration;
  const second = cal.form === 'product' ? `pcvr through pctr' x pcvr' ${knots(cal.pcvr)}` : `pctcvr ${knots(cal.pctcvr)}`;
  log?.(`calibration: ${method} fitted on ${valid.rows} validation rows (pctr ${knots(cal.pctr)}, ${second}); evaluated on ${evaluatedOn}`);
  return { calibration: { method, form: cal.form, fitted_on: cal.fitted_on }, metrics_uncalibrated: uncalibrated };
}
