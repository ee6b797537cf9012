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
 * differently from the rest. ctr-platt gives pCVR' pCTR' as a second covariate,
 * pCVR' = sigmoid(a logit(pCVR) + c logit(pCTR') + b), fitted through the product like platt (so
 * it may reorder pCVR): where clicks and conversions go together (the sparse regime), c > 0 would
 * lower pCVR' on the rarely clicked rows that oracle-isotonic shows it overrates.
 * expected-ctr-platt is the same fit with each row's buy replaced by true pCTCVR (no label noise).
 *
 * Beside the methods, per model: the validation split's buys and their expected number, and two
 * inverse-propensity estimates of the validation split's entire-space mean CVR, sum(buy / pCTR) / rows,
 * over its true mean: with the simulator's true pCTR (unbiased; its spread over seeds is the noise
 * any fit on those buys inherits) and with the model's Platt-calibrated pCTR' (floored at IPS_FLOOR;
 * its excess over the first is what the model's coarser pCTR costs the level).
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

export const CALIBRATION_METHODS = ['none', 'platt', 'isotonic', 'ratio-platt', 'ratio-isotonic', 'ips-platt', 'ips-isotonic', 'ctr-platt', 'expected-ctr-platt', 'expected-isotonic', 'oracle-isotonic'] as const;
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
  /** sum(buy / true pCTR) / rows on validation, over the mean true pCVR there. */
  ipsTrueOverTrue: number;
  /** The same with the model's Platt-calibrated pCTR' floored at IPS_FLOOR. */
  ipsModelOverTrue: number;
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
      } else if (m === 'ctr-platt' || m === 'expected-ctr-platt') {
        pred = ctrPlattPredictions(valid, validPred, testPred, m === 'ctr-platt' ? valid.labels.buy : truth(valid, 'true_pctcvr'));
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
    const meanTrueCvr = meanOf(truth(valid, 'true_pcvr'));
    const validPctr = applyCalibratorAll(fitPlatt(validPred.pctr, valid.labels.click), validPred.pctr);
    out.push({
      model: name, seconds, test: scores, validBuys: sumOf(valid.labels.buy), validExpectedBuys: sumOf(truth(valid, 'true_pctcvr')),
      ipsTrueOverTrue: ipsMeanCvr(valid.labels.buy, truth(valid, 'true_pctr'), 0) / meanTrueCvr,
      ipsModelOverTrue: ipsMeanCvr(valid.labels.buy, validPctr, IPS_FLOOR) / meanTrueCvr,
    });
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

/** The inverse-propensity estimate of the mean CVR over every row: sum(buy / max(floor, pCTR)) / rows. */
function ipsMeanCvr(buy: Float32Array, pctr: Float32Array, floor: number): number {
  let s = 0;
  for (let i = 0; i < buy.length; i++) if (buy[i]! > 0.5) s += 1 / Math.max(floor, pctr[i]!);
  return s / buy.length;
}

/**
 * ctr-platt: pCTR' by Platt on click; pCVR' = sigmoid(theta . x), x = (logit pCVR, logit pCTR', 1),
 * fitted on `targets` (buys, or true pCTCVR) over every impression through pCTR' x pCVR'. Fisher
 * scoring (the expected Hessian of fitPlattThroughProduct's objective, now 3 x 3) with the same
 * Armijo backtracking; buys get Platt's smoothed targets, true pCTCVR is used as it is.
 */
function ctrPlattPredictions(valid: EncodedChunk, validPred: Predictions, testPred: Predictions, targets: Float32Array): Predictions {
  const ctr = fitPlatt(validPred.pctr, valid.labels.click);
  const vc = applyCalibratorAll(ctr, validPred.pctr);
  const n = valid.rows;
  const isLabel = targets === valid.labels.buy;
  const pos = sumOf(targets);
  const t = Float64Array.from(targets, (y) => (!isLabel ? y : y > 0.5 ? (pos + 1) / (pos + 2) : 1 / (n - pos + 2)));
  const c = Float64Array.from(vc, (x) => Math.min(1 - 1e-7, Math.max(1e-12, x)));
  const xs = (pcvr: number, pctr: number): [number, number, number] => [logit(pcvr), logit(pctr), 1];
  const rows = Array.from({ length: n }, (_, i) => xs(validPred.pcvr[i]!, vc[i]!));
  const dot = (th: number[], x: number[]): number => th[0]! * x[0]! + th[1]! * x[1]! + th[2]! * x[2]!;
  const objective = (th: number[]): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const u = dot(th, rows[i]!);
      f += -t[i]! * -softplus(-u) - (1 - t[i]!) * Math.log(1 - c[i]! + c[i]! * sigmoid(-u));
    }
    return f;
  };
  let th = [1, 0, 0];
  let f = objective(th);
  for (let iter = 0; iter < 100; iter++) {
    const grad = [0, 0, 0];
    const h = [[1e-12, 0, 0], [0, 1e-12, 0], [0, 0, 1e-12]];
    for (let i = 0; i < n; i++) {
      const x = rows[i]!;
      const u = dot(th, x);
      const g = sigmoid(u);
      const gc = sigmoid(-u);
      const d = 1 - c[i]! + c[i]! * gc;
      const gi = (gc * (c[i]! * g - t[i]!)) / d;
      const ki = (c[i]! * g * gc * gc) / d;
      for (let a = 0; a < 3; a++) {
        grad[a]! += gi * x[a]!;
        for (let b = 0; b < 3; b++) h[a]![b]! += ki * x[a]! * x[b]!;
      }
    }
    const step = solve3(h, grad.map((v) => -v));
    const slope = grad[0]! * step[0]! + grad[1]! * step[1]! + grad[2]! * step[2]!;
    if (!(slope < 0)) break;
    let moved = false;
    for (let k = 1; k >= 1e-10; k /= 2) {
      const next = th.map((v, j) => v + k * step[j]!);
      const fn = objective(next);
      if (fn < f + 1e-4 * k * slope) {
        th = next;
        f = fn;
        moved = true;
        break;
      }
    }
    if (!moved) break;
  }
  const pctr = applyCalibratorAll(ctr, testPred.pctr);
  const pcvr = Float32Array.from(testPred.pcvr, (p, i) => sigmoid(dot(th, xs(p, pctr[i]!))));
  const pctcvr = Float32Array.from(pcvr, (p, i) => p * pctr[i]!);
  return { ...testPred, pctr, pcvr, pctcvr };
}

/** Solve the 3 x 3 system h x = r by Cramer's rule (h is a positive definite Fisher matrix). */
function solve3(h: number[][], r: number[]): number[] {
  const det = (m: number[][]): number =>
    m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) - m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) + m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const d = det(h);
  return [0, 1, 2].map((j) => det(h.map((row, i) => row.map((v, k) => (k === j ? r[i]! : v)))) / d);
}

function logit(p: number): number {
  const q = Math.min(1 - 1e-7, Math.max(1e-7, p));
  return Math.log(q) - Math.log(1 - q);
}

function softplus(u: number): number {
  return u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u));
}

function sigmoid(u: number): number {
  return u >= 0 ? 1 / (1 + Math.exp(-u)) : Math.exp(u) / (1 + Math.exp(u));
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
