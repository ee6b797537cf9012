/**
 * Precision, recall and F1 when the top `fraction` of rows by score are predicted positive (ESM2
 * reports the top 0.1%, 0.6% and 1%). k = max(1, round(fraction * n)). When tied scores straddle
 * the cut, the tied rows count in proportion (the expectation over random tie-breaking), so the
 * result does not depend on row order.
 */
import { checkLengths } from './split.js';

export interface TopKResult {
  fraction: number;
  k: number;
  /** Score of the k-th highest row. */
  threshold: number;
  /** Expected true positives among the top k. */
  truePositives: number;
  positives: number;
  precision: number;
  recall: number;
  f1: number;
}

export function topK(labels: ArrayLike<number>, scores: ArrayLike<number>, fraction: number): TopKResult {
  const n = checkLengths(labels, scores, 'topK');
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`topK: fraction must be in (0, 1], got ${fraction}`);
  if (n === 0) throw new RangeError('topK: no rows');
  const k = Math.min(n, Math.max(1, Math.round(fraction * n)));
  const sorted = Float64Array.from(scores);
  sorted.sort();
  if (Number.isNaN(sorted[n - 1])) throw new RangeError('topK: a score is NaN');
  const threshold = sorted[n - k]!;
  let above = 0;
  let tied = 0;
  let posAbove = 0;
  let posTied = 0;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (y !== 0 && y !== 1) throw new RangeError(`topK: label at index ${i} is ${y}, expected 0 or 1`);
    positives += y;
    const s = scores[i]!;
    if (s > threshold) {
      above++;
      posAbove += y;
    } else if (s === threshold) {
      tied++;
      posTied += y;
    }
  }
  const truePositives = posAbove + (posTied * (k - above)) / tied;
  const precision = truePositives / k;
  const recall = positives > 0 ? truePositives / positives : Number.NaN;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : positives > 0 ? 0 : Number.NaN;
  return { fraction, k, threshold, truePositives, positives, precision, recall, f1 };
}
