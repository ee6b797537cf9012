/**
 * Calibration of predicted probabilities: overall mean predicted vs observed rate, their ratio,
 * the expected calibration error ECE = sum_b (n_b / n) |mean predicted_b - observed rate_b|, and
 * the per-bin reliability table for plots.
 *
 * Bins are equal-count (quantile) by default, because funnel probabilities are small (a 0.3%
 * CTCVR puts every row into the first of ten equal-width bins); 'uniform' gives equal-width bins
 * on [0, 1]. Tied scores always share a bin, so the table does not depend on row order.
 */
import { checkLengths } from './split.js';

export interface CalibrationBin {
  /** Smallest and largest score in the bin. */
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

export interface CalibrationResult {
  meanPredicted: number;
  observedRate: number;
  /** meanPredicted / observedRate: 1 is calibrated, above 1 over-predicts. */
  ratio: number;
  /** Expected calibration error over the bins. */
  ece: number;
  /** Non-empty bins in increasing score order. */
  bins: CalibrationBin[];
}

export type Binning = 'quantile' | 'uniform';

export function calibration(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  bins = 10,
  binning: Binning = 'quantile',
): CalibrationResult {
  const n = checkLengths(labels, scores, 'calibration');
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`calibration: bins must be a positive integer, got ${bins}`);
  // upperEdges[b]: a row with score s goes to the first bin b with s <= upperEdges[b].
  const upperEdges = new Float64Array(bins);
  if (binning === 'uniform') {
    for (let b = 0; b < bins; b++) upperEdges[b] = (b + 1) / bins;
    upperEdges[bins - 1] = Number.POSITIVE_INFINITY;
  } else {
    const sorted = Float64Array.from(scores);
    sorted.sort();
    for (let b = 0; b < bins - 1; b++) upperEdges[b] = n > 0 ? sorted[Math.floor(((b + 1) * n) / bins) - 1] ?? Number.NEGATIVE_INFINITY : 0;
    upperEdges[bins - 1] = Number.POSITIVE_INFINITY;
  }
  const count = new Float64Array(bins);
  const sumPred = new Float64Array(bins);
  const sumObs = new Float64Array(bins);
  const lower = new Float64Array(bins).fill(Number.POSITIVE_INFINITY);
  const upper = new Float64Array(bins).fill(Number.NEGATIVE_INFINITY);
  let totalPred = 0;
  let totalObs = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    const y = labels[i]!;
    if (Number.isNaN(s)) throw new RangeError(`calibration: score at index ${i} is NaN`);
    if (!(y >= 0 && y <= 1)) throw new RangeError(`calibration: label at index ${i} is ${y}, expected a value in [0, 1]`);
    const b = firstEdgeAtLeast(upperEdges, s);
    count[b]! += 1;
    sumPred[b]! += s;
    sumObs[b]! += y;
    if (s < lower[b]!) lower[b] = s;
    if (s > upper[b]!) upper[b] = s;
    totalPred += s;
    totalObs += y;
  }
  const table: CalibrationBin[] = [];
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    const meanPredicted = sumPred[b]! / count[b]!;
    const observedRate = sumObs[b]! / count[b]!;
    ece += (count[b]! / n) * Math.abs(meanPredicted - observedRate);
    table.push({ lower: lower[b]!, upper: upper[b]!, count: count[b]!, meanPredicted, observedRate });
  }
  const meanPredicted = totalPred / n;
  const observedRate = totalObs / n;
  return { meanPredicted, observedRate, ratio: meanPredicted / observedRate, ece: n > 0 ? ece : Number.NaN, bins: table };
}

function firstEdgeAtLeast(edges: Float64Array, s: number): number {
  let lo = 0;
  let hi = edges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
