import type { Batch } from '../../data/batch-assembler.js';

/**
 * Rows [start, end) of a batch as a Batch of its own, by views (no copy). Multi-valued offsets are
 * left absolute: every reader takes row i's ids as offsets[i]..offsets[i+1] of the shared ids.
 */
export function sliceBatch(b: Batch, start: number, end: number, numericDim: number): Batch {
  return {
    size: end - start,
    categorical: b.categorical.map((c) => c.subarray(start, end)),
    multiValued: b.multiValued.map((m) => ({ ids: m.ids, offsets: m.offsets.subarray(start, end + 1), ...(m.weights !== undefined ? { weights: m.weights } : {}) })),
    numeric: b.numeric.subarray(start * numericDim, end * numericDim),
    labels: new Map([...b.labels].map(([k, v]) => [k, v.subarray(start, end)])),
  };
}

/** Split n rows into at most `parts` contiguous non-empty ranges of near-equal size (larger ones first). */
export function sliceRanges(n: number, parts: number): [number, number][] {
  const k = Math.max(1, Math.min(parts, n));
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const len = Math.floor(n / k) + (i < n % k ? 1 : 0);
    out.push([start, start + len]);
    start += len;
  }
  return out;
}
