/**
 * Each loss term's weight per slice of a batch split over the sharded step's workers.
 *
 * A term that is a mean over the batch's rows has, per slice k, the row share n_k / n: the batch
 * gradient is sum_k (n_k / n) * the gradient of slice k. A term that is a mean over the batch's
 * CLICKED rows (naive_cvr's click-space CVR loss, graph/losses.ts bce with a row mask) has the
 * click share c_k / c instead, c_k the slice's clicks: sum_k (c_k / c) * (sum over slice k's
 * clicked rows / c_k) is the batch's mean over its c clicked rows. A batch without a click has a
 * zero loss in every slice; row shares keep the term's other parts (an uncertainty weight's log
 * variance) right then.
 *
 * The worker scales its whole gradient by its row share (shard-worker.ts), so the term's loss
 * weight for slice k is multiplied by share / rowShare. Every combination of terms the step
 * accepts (fixed weights, uncertainty weighting: exp(-s) L + s per term) is linear in the term's
 * loss weight, and each term's shares add up to 1 over the slices, so the summed gradient is the
 * 1-worker batch gradient.
 */
import type { Batch } from '../../data/batch-assembler.js';

/** Per slice, each term's share of the batch (rows or clicks), in the order of `clickedTerms`. */
export function termShares(clickedTerms: boolean[], batch: Batch, ranges: [number, number][]): Float64Array[] {
  const n = batch.size;
  const click = clickedTerms.some((c) => c) ? batch.labels.get('click') : undefined;
  const clicks = ranges.map(([a, b]) => {
    let c = 0;
    if (click !== undefined) for (let i = a; i < b; i++) c += click[i]!;
    return c;
  });
  const total = clicks.reduce((s, c) => s + c, 0);
  return ranges.map(([a, b], k) => Float64Array.from(clickedTerms, (clicked) => (clicked && total > 0 ? clicks[k]! / total : (b - a) / n)));
}

/** Slice k's loss weights: each term's weight times its share over the slice's row share. */
export function sliceLossWeights(weights: Float32Array, shares: Float64Array, rowShare: number): Float32Array {
  return Float32Array.from(weights, (w, i) => (w * shares[i]!) / rowShare);
}
