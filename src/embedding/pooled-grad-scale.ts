/**
 * The factor a pooled row's gradient is scattered with to its items' rows (before each item's own
 * weight): 1 for 'sum', 1 / sum_j w_j for 'mean' (the count without weights). 0 when the row's
 * weights sum to 0: its forward output was zeros, so no gradient reaches its rows. One definition
 * for every table that implements updatePooled (in-process, shared-memory and store-backed).
 */
export function pooledGradScale(mode: 'sum' | 'mean', weights: Float32Array | undefined, start: number, end: number): number {
  if (mode === 'sum') return 1;
  let weightSum = 0;
  for (let j = start; j < end; j++) weightSum += weights === undefined ? 1 : weights[j]!;
  return weightSum === 0 ? 0 : 1 / weightSum;
}
