import type { EncodedChunk } from '../data/batch.js';
import { auc } from '../metrics/auc.js';
import { gauc } from '../metrics/gauc.js';
import { logloss } from '../metrics/logloss.js';
import { calibration } from '../metrics/calibration.js';
import type { Predictions } from '../models/model.js';

/** Flat metric map as written to metrics.json and `esmm eval --json`. NaN is written as null. */
export type FlatMetrics = Record<string, number>;

/** Truth column written by the simulator: the conversion that would have happened on a click. */
export const POTENTIAL_BUY = 'potential_buy';
export const TRUE_PCVR = 'true_pcvr';
export const TRUE_PCTR = 'true_pctr';
export const TRUE_PCTCVR = 'true_pctcvr';

/**
 * Score predictions against labels, always naming the space each metric is computed on:
 * - `*_ctr`, `*_ctcvr`, `*_action`: all impressions (the entire space);
 * - `auc_cvr_clicked`: pCVR against buy on clicked rows only (what real logs allow);
 * - `auc_cvr_entire_space`: pCVR against the simulator's potential conversion on every impression
 *   (only when the file carries that truth column; no real log can provide it).
 */
export function evaluatePredictions(data: EncodedChunk, pred: Predictions): FlatMetrics {
  const m: FlatMetrics = { rows: data.rows };
  const click = data.labels.click;
  const buy = data.labels.buy;
  const tasks: { name: string; labels: Float32Array; scores: Float32Array }[] = [
    { name: 'ctr', labels: click, scores: pred.pctr },
    { name: 'ctcvr', labels: buy, scores: pred.pctcvr },
  ];
  if (pred.paction !== undefined && data.labels.action !== undefined) {
    // pAction is p(action | click); on the entire space the comparable score is pCTR x pAction.
    const ctavr = new Float32Array(data.rows);
    for (let i = 0; i < data.rows; i++) ctavr[i] = pred.pctr[i]! * pred.paction[i]!;
    tasks.push({ name: 'action', labels: data.labels.action, scores: ctavr });
  }
  const aucs: number[] = [];
  const gaucs: number[] = [];
  for (const t of tasks) {
    m[`auc_${t.name}`] = auc(t.labels, t.scores);
    aucs.push(m[`auc_${t.name}`]!);
    m[`logloss_${t.name}`] = logloss(t.labels, t.scores);
    const cal = calibration(t.labels, t.scores);
    m[`calibration_${t.name}`] = cal.ratio;
    m[`ece_${t.name}`] = cal.ece;
    if (data.group !== undefined) {
      const g = gauc(t.labels, t.scores, data.group);
      m[`gauc_${t.name}`] = g.gauc;
      m[`groups_${t.name}`] = g.groups;
      gaucs.push(g.gauc);
    }
  }
  m.auc_macro = mean(aucs);
  if (gaucs.length > 0) m.gauc_macro = mean(gaucs);

  // pCVR on the click space: the only CVR evaluation a real log allows.
  const clicked: number[] = [];
  for (let i = 0; i < data.rows; i++) if (click[i] === 1) clicked.push(i);
  const cBuy = new Float32Array(clicked.length);
  const cScore = new Float32Array(clicked.length);
  clicked.forEach((r, k) => {
    cBuy[k] = buy[r]!;
    cScore[k] = pred.pcvr[r]!;
  });
  m.clicked_rows = clicked.length;
  // Conversions (buy = 1; every one is on a clicked row): early stopping's min_conversions reads it.
  m.conversions = cBuy.reduce((s, y) => s + y, 0);
  m.auc_cvr_clicked = auc(cBuy, cScore);
  m.logloss_cvr_clicked = clicked.length > 0 ? logloss(cBuy, cScore) : Number.NaN;
  if (data.group !== undefined) {
    // GAUC of pCVR on the clicked space: per user, among that user's clicks.
    const g = gauc(cBuy, cScore, Int32Array.from(clicked, (r) => data.group![r]!));
    m.gauc_cvr_clicked = g.gauc;
    m.groups_cvr_clicked = g.groups;
  }
  // Mean pCVR on clicked rows / their observed buy rate (the calibration real logs allow).
  m.calibration_cvr_clicked = clicked.length > 0 ? calibration(cBuy, cScore).ratio : Number.NaN;

  m.mean_pcvr = mean(Array.from(pred.pcvr));
  const potential = data.truth.get(POTENTIAL_BUY);
  if (potential !== undefined) {
    m.auc_cvr_entire_space = auc(potential, pred.pcvr);
    m.logloss_cvr_entire_space = logloss(potential, pred.pcvr);
  }
  const truePcvr = data.truth.get(TRUE_PCVR);
  if (truePcvr !== undefined) {
    m.true_mean_pcvr = mean(Array.from(truePcvr));
    m.calibration_cvr_entire_space = m.mean_pcvr / m.true_mean_pcvr;
    const truePctr = data.truth.get(TRUE_PCTR);
    if (truePctr !== undefined) m.calibration_cvr_click_weighted = clickWeightedRatio(pred.pcvr, truePcvr, truePctr);
  } else if (potential !== undefined) {
    // Without the generating probabilities, the realised potential conversions are the truth.
    m.calibration_cvr_entire_space = m.mean_pcvr / mean(Array.from(potential));
  }
  // pCTCVR's level against the truth (not against the few buys a split holds): the per-impression
  // level clicks and buys do inform, beside pCVR's, which on rarely clicked impressions they do not.
  const truePctcvr = data.truth.get(TRUE_PCTCVR);
  if (truePctcvr !== undefined) m.calibration_ctcvr_entire_space = mean(Array.from(pred.pctcvr)) / mean(Array.from(truePctcvr));
  return m;
}

/**
 * Mean pCVR over mean true pCVR with every impression weighted by its true click probability:
 * sum(true pCTR x pCVR) / sum(true pCTR x true pCVR). An impression's buys reach any loss or
 * calibration fit only in proportion to its click probability, so this is the part of pCVR's
 * level that logged clicks and buys can inform; the flat ratio also weighs impressions that are
 * almost never clicked, where pCVR is the model's extrapolation (bench/calibration-by-propensity.ts).
 */
function clickWeightedRatio(pcvr: Float32Array, truePcvr: Float32Array, truePctr: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < pcvr.length; i++) {
    const w = truePctr[i]!;
    const p = pcvr[i]!;
    const t = truePcvr[i]!;
    if (!Number.isFinite(p) || !Number.isFinite(t) || !Number.isFinite(w)) continue;
    num += w * p;
    den += w * t;
  }
  return den > 0 ? num / den : Number.NaN;
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    if (Number.isFinite(v)) {
      s += v;
      n++;
    }
  }
  return n === 0 ? Number.NaN : s / n;
}

/** Whether a larger value of the metric is better (AUC-like) or smaller (logloss, ece). */
export function higherIsBetter(metric: string): boolean {
  return !/^(logloss|ece)/.test(metric);
}
