/**
 * ROC curve points for plots: one point per distinct score (thresholds from high to low), thinned
 * to at most maxPoints while always keeping (0, 0) and (1, 1).
 */
import { sortedByClass } from './split.js';

export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  /** Score threshold of each point (predict positive when score >= threshold); +Infinity at (0, 0). */
  thresholds: Float64Array;
}

export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, maxPoints = 201): RocCurve {
  if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new RangeError(`rocCurve: maxPoints must be an integer >= 2, got ${maxPoints}`);
  const { positives: pos, negatives: neg } = sortedByClass(labels, scores, 'rocCurve');
  const P = pos.length;
  const N = neg.length;
  const fpr: number[] = [0];
  const tpr: number[] = [0];
  const thresholds: number[] = [Number.POSITIVE_INFINITY];
  let i = P - 1; // walk both ascending arrays from the top
  let j = N - 1;
  while (i >= 0 || j >= 0) {
    const v = Math.max(i >= 0 ? pos[i]! : Number.NEGATIVE_INFINITY, j >= 0 ? neg[j]! : Number.NEGATIVE_INFINITY);
    while (i >= 0 && pos[i] === v) i--;
    while (j >= 0 && neg[j] === v) j--;
    tpr.push(P > 0 ? (P - 1 - i) / P : Number.NaN);
    fpr.push(N > 0 ? (N - 1 - j) / N : Number.NaN);
    thresholds.push(v);
  }
  const m = fpr.length;
  if (m <= maxPoints) {
    return { fpr: Float64Array.from(fpr), tpr: Float64Array.from(tpr), thresholds: Float64Array.from(thresholds) };
  }
  const out: RocCurve = { fpr: new Float64Array(maxPoints), tpr: new Float64Array(maxPoints), thresholds: new Float64Array(maxPoints) };
  for (let p = 0; p < maxPoints; p++) {
    const at = Math.round((p * (m - 1)) / (maxPoints - 1));
    out.fpr[p] = fpr[at]!;
    out.tpr[p] = tpr[at]!;
    out.thresholds[p] = thresholds[at]!;
  }
  return out;
}
