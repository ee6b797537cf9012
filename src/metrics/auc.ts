/**
 * Exact ROC AUC over all rows at once (never averaged over batches): the Mann-Whitney U statistic
 * with midranks for ties, AUC = U / (P N). Matches scikit-learn's roc_auc_score. NaN when one
 * class is absent (scikit-learn raises there).
 */
import { mannWhitneyU, sortedByClass } from './split.js';

export function auc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const s = sortedByClass(labels, scores, 'auc');
  const p = s.positives.length;
  const n = s.negatives.length;
  if (p === 0 || n === 0) return Number.NaN;
  return mannWhitneyU(s) / (p * n);
}
