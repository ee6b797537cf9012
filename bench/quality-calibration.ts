/**
 * Calibration comparison for bench/quality.ts --calibrations LIST: each model trains once (no
 * calibration), and every listed post-hoc calibration is fitted on the validation split's
 * uncalibrated predictions and scored on the test split, so the methods are compared on the same
 * model rather than on three training runs that differ by their own noise.
 *
 * Methods: none; platt and isotonic (the product form that train.calibration fits: pCVR through
 * pCTR' x pCVR' over every impression); ratio-platt and ratio-isotonic (the first form: pCTCVR
 * calibrated on its own, pCVR = pCTCVR' / pCTR'; kept to show why it was replaced); ips-platt and
 * ips-isotonic (pCVR' fitted on the clicked rows' buys, each weighted by 1 / pCTR' with pCTR' the
 * Platt-calibrated pCTR floored at IPS_FLOOR: inverse propensity weighting aims the fit at the
 * entire-space level rather than the click-weighted one the product fit learns). Two
 * diagnostics that read the simulator's truth on validation, to tell the fit's noise from its bias:
 * expected-isotonic is the product isotonic fit with each row's buy replaced by its expected value
 * (true pCTCVR), i.e. without label noise; oracle-isotonic fits pCVR' to true pCVR directly over
 * every impression, unweighted: the best entire-space calibration any monotone map of the model's
 * pCVR can reach. Where expected-isotonic is off and oracle-isotonic is not, the product fit is
 * biased: within one pCVR value, rows with a higher pCTR' (which weigh more in the fit) convert
 * differently from the rest.
 */
import type { EsmmConfig } from '../src/config/types.js';
import type { EncodedChunk } from '../src/data/batch.js';
import { evaluatePredictions, type FlatMetrics } from '../src/eval/evaluate.js';
import { loadData } from '../src/api/load-data.js';
import { prepareLogged, trainAndEvaluate } from '../src/api/pipeline.js';
import { fitCalibration } from '../src/models/calibration/fit.js';
import { calibratePredictions } from '../src/models/calibration/apply.js';
import { applyCalibratorAll, fitIsotonic, fitIsotonicThroughProduct, fitPlatt, type Calibration } from '../src/models/calibration/calibrator.js';
import type { Predictions } from '../src/models/model.js';

export const CALIBRATION_METHODS = ['none', 'platt', 'isotonic', 'ratio-platt', 'ratio-isotonic', 'ips-platt', 'ips-isotonic', 'expected-isotonic', 'oracle-isotonic'] as const;
export type CalibrationMethodName = (typeof CALIBRATION_METHODS)[number];

export interface CalibratedScores {
  model: string;
  seconds: number;
  /**
   * Test metrics per method, with mean pCTR and mean pCTCVR over the simulator's true means
   * (mean_pctr_over_true, mean_pctcvr_over_true) added.
   */
  test: Record<string, FlatMetrics>;
  /**
   * The validation split's buys and the number the simulator expected there (sum of true pCTCVR):
   * a calibration fitted on validation cannot be more accurate at the level than their ratio.
   */
  validBuys: number;
  validExpectedBuys: number;
}

export async function trainAndCalibrate(config: EsmmConfig, models: string[], methods: CalibrationMethodName[]): Promise<CalibratedScores[]> {
  const data = await loadData(config.data, config.schema, { baseDir: config.baseDir, source: config.source });
  const features = prepareLogged(config, data);
  const { test, valid } = features;
  if (test === undefined || valid === undefined) throw new Error('--calibrations needs a validation and a test split');
  const out: CalibratedScores[] = [];
  for (const name of models) {
    const { calibration: _off, ...train } = config.train;
    const cfg: EsmmConfig = { ...config, model: { ...config.model, name }, train };
    const t0 = performance.now();
    const r = await trainAndEvaluate(cfg, { prepared: { data, features } });
    const seconds = (performance.now() - t0) / 1000;
    const model = r.result.model;
    const validPred = await model.predictUncalibrated(valid);
    const testPred = await model.predictUncalibrated(test);
    const scores: Record<string, FlatMetrics> = {};
    for (const m of methods) {
      let pred = testPred;
      if (m === 'expected-isotonic' || m === 'oracle-isotonic') {
        const pctr = fitIsotonic(validPred.pctr, valid.labels.click);
        const pcvr = m === 'expected-isotonic'
          ? fitIsotonicThroughProduct(validPred.pcvr, truth(valid, 'true_pctcvr'), applyCalibratorAll(pctr, validPred.pctr))
          : fitIsotonic(validPred.pcvr, truth(valid, 'true_pcvr'));
        pred = calibratePredictions(testPred, { method: 'isotonic', form: 'product', pctr, pcvr, fitted_on: { rows: valid.rows, split: 'valid' } });
      } else if (m === 'ips-platt' || m === 'ips-isotonic') {
        pred = calibratePredictions(testPred, fitIpsCalibration(m === 'ips-platt' ? 'platt' : 'isotonic', valid, validPred));
      } else if (m !== 'none') {
        const [form, method] = m.startsWith('ratio-') ? (['ratio', m.slice(6)] as const) : (['product', m] as const);
        const cal = fitCalibration(method as 'platt' | 'isotonic', valid, validPred, 'valid', form);
        pred = calibratePredictions(testPred, cal);
      }
      const metrics = evaluatePredictions(test, pred);
      metrics.mean_pctr_over_true = meanOf(pred.pctr) / meanOf(truth(test, 'true_pctr'));
      metrics.mean_pctcvr_over_true = meanOf(pred.pctcvr) / meanOf(truth(test, 'true_pctcvr'));
      scores[m] = metrics;
    }
    await model.release();
    out.push({ model: name, seconds, test: scores, validBuys: sumOf(valid.labels.buy), validExpectedBuys: sumOf(truth(valid, 'true_pctcvr')) });
  }
  return out;
}

/** IPS forms: 1 / pCTR' is capped at 1 / IPS_FLOOR, so a few clicked rows cannot carry the whole fit. */
const IPS_FLOOR = 0.005;

/** pCTR' by Platt on every impression; pCVR' = g(pCVR) fitted on clicked rows only, weight 1 / max(IPS_FLOOR, pCTR'). */
function fitIpsCalibration(method: 'platt' | 'isotonic', valid: EncodedChunk, validPred: Predictions): Calibration {
  const pctr = fitPlatt(validPred.pctr, valid.labels.click);
  const factor = applyCalibratorAll(pctr, validPred.pctr);
  const clicked: number[] = [];
  for (let i = 0; i < valid.rows; i++) if (valid.labels.click[i]! > 0.5) clicked.push(i);
  const scores = Float32Array.from(clicked, (i) => validPred.pcvr[i]!);
  const buys = Float32Array.from(clicked, (i) => valid.labels.buy[i]!);
  const weights = Float64Array.from(clicked, (i) => 1 / Math.max(IPS_FLOOR, factor[i]!));
  const pcvr = method === 'platt' ? fitPlatt(scores, buys, weights) : fitIsotonic(scores, buys, weights);
  return { method, form: 'product', pctr, pcvr, fitted_on: { rows: valid.rows, split: 'valid' } };
}

function truth(chunk: EncodedChunk, column: string): Float32Array {
  const t = chunk.truth.get(column);
  if (t === undefined) throw new Error(`--calibrations needs the simulator's truth column ${column}`);
  return t;
}

function sumOf(xs: Float32Array): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}

function meanOf(xs: Float32Array): number {
  return sumOf(xs) / xs.length;
}
