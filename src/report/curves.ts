/**
 * The plot data of a report for one evaluated split (what training writes to curves.json): ROC
 * points and reliability bins per task, each on its named space, and the funnel's observed vs
 * predicted rate per stage.
 */
import type { EncodedChunk } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import { auc } from '../metrics/auc.js';
import { calibration } from '../metrics/calibration.js';
import { rocCurve } from '../metrics/roc.js';
import type { Predictions } from '../models/model.js';

export const CURVES_VERSION = 1;

export interface TaskCurves {
  /** ctr, cvr, ctcvr, action. */
  task: string;
  /** Rows the task is scored on, named (CVR on clicked rows: what a real log allows). */
  space: 'impressions' | 'clicked';
  label: string;
  score: string;
  rows: number;
  positives: number;
  auc: number | null;
  roc: { fpr: number[]; tpr: number[] } | null;
  calibration: { ece: number | null; ratio: number | null; bins: { predicted: number; observed: number; count: number }[] };
}

export interface FunnelStage {
  stage: string;
  /**
   * The stage this one is conditional on in the model's funnel (buy hangs off click in ESM2: a
   * buy with no cart is allowed, so "buy | cart" would be wrong). Absent for the impression.
   */
  parent?: string;
  /** Share of impressions that reached the stage. */
  observed: number;
  /** Mean predicted probability of reaching it from an impression. */
  predicted: number;
}

export interface CurvesData {
  version: number;
  split: string;
  rows: number;
  tasks: TaskCurves[];
  funnel: FunnelStage[];
}

export function computeCurves(data: EncodedChunk, pred: Predictions, schema: Schema, split: string): CurvesData {
  const n = data.rows;
  const { click, buy } = data.labels;
  const tasks: TaskCurves[] = [taskCurves('ctr', 'impressions', schema.labels.click, 'pctr', click, pred.pctr)];
  const clicked: number[] = [];
  for (let i = 0; i < n; i++) if (click[i] === 1) clicked.push(i);
  tasks.push(taskCurves('cvr', 'clicked', schema.labels.buy, 'pcvr', Float32Array.from(clicked, (i) => buy[i]!), Float32Array.from(clicked, (i) => pred.pcvr[i]!)));
  tasks.push(taskCurves('ctcvr', 'impressions', schema.labels.buy, 'pctcvr', buy, pred.pctcvr));
  let ctavr: Float32Array | undefined;
  if (pred.paction !== undefined && data.labels.action !== undefined) {
    ctavr = Float32Array.from(pred.pctr, (p, i) => p * pred.paction![i]!);
    tasks.push(taskCurves('action', 'impressions', (schema.labels.actions ?? []).join('|'), 'pctr*paction', data.labels.action, ctavr));
  }
  const funnel: FunnelStage[] = [
    { stage: 'impression', observed: 1, predicted: 1 },
    { stage: schema.labels.click, parent: 'impression', observed: mean(click), predicted: mean(pred.pctr) },
  ];
  if (ctavr !== undefined && data.labels.action !== undefined) {
    funnel.push({ stage: (schema.labels.actions ?? ['action']).join(' or '), parent: schema.labels.click, observed: mean(data.labels.action), predicted: mean(ctavr) });
  }
  // Buy follows the click whether or not an action came between (ESM2's y3 and y4 branches).
  funnel.push({ stage: schema.labels.buy, parent: schema.labels.click, observed: mean(buy), predicted: mean(pred.pctcvr) });
  // Ground truth from the simulator: entire-space pCVR against the conversion each impression
  // would have had if clicked (no real log has this).
  const potential = data.truth.get('potential_buy');
  if (potential !== undefined) tasks.push(taskCurves('cvr_truth', 'impressions', 'potential_buy', 'pcvr', potential, pred.pcvr));
  return { version: CURVES_VERSION, split, rows: n, tasks, funnel };
}

function taskCurves(task: string, space: TaskCurves['space'], label: string, score: string, labels: Float32Array, scores: Float32Array): TaskCurves {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]!;
  const bothClasses = positives > 0 && positives < labels.length;
  const roc = bothClasses ? rocCurve(labels, scores, 201) : undefined;
  const cal = labels.length > 0 ? calibration(labels, scores, 10) : undefined;
  return {
    task,
    space,
    label,
    score,
    rows: labels.length,
    positives,
    auc: bothClasses ? finite(auc(labels, scores)) : null,
    roc: roc === undefined ? null : { fpr: round(Array.from(roc.fpr)), tpr: round(Array.from(roc.tpr)) },
    calibration: {
      ece: cal === undefined ? null : finite(cal.ece),
      ratio: cal === undefined ? null : finite(cal.ratio),
      bins: (cal?.bins ?? []).map((b) => ({ predicted: b.meanPredicted, observed: b.observedRate, count: b.count })),
    },
  };
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return a.length > 0 ? s / a.length : Number.NaN;
}

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function round(a: number[]): number[] {
  return a.map((v) => Math.round(v * 1e6) / 1e6);
}
