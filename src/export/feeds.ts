/**
 * Encoded rows -> the exported model's input tensors: int64 ids, multi-valued ids padded to the
 * longest row (pad id 0, weight 0), numerics as they are. For tests, benchmarks and callers that
 * already run the FeatureSpec in JavaScript.
 */
import type { EncodedChunk } from '../data/batch.js';
import type { FeatureLayout } from '../models/layout.js';
import { categoricalInputName, multiIdsInputName, multiWeightsInputName, NUMERIC_EXPORT_INPUT } from './inputs.js';

export type ExportFeed = { data: BigInt64Array | Float32Array; dims: number[] };

export function exportFeeds(chunk: EncodedChunk, layout: FeatureLayout): Record<string, ExportFeed> {
  const n = chunk.rows;
  const feeds: Record<string, ExportFeed> = {};
  layout.categorical.forEach((f, i) => {
    const ids = chunk.categorical[i]!;
    const data = new BigInt64Array(n);
    for (let r = 0; r < n; r++) data[r] = BigInt(ids[r]!);
    feeds[categoricalInputName(f.name)] = { data, dims: [n] };
  });
  layout.multiValued.forEach((f, m) => {
    const { ids, offsets, weights } = chunk.multiValued[m]!;
    let len = 1;
    for (let r = 0; r < n; r++) len = Math.max(len, offsets[r + 1]! - offsets[r]!);
    const padded = new BigInt64Array(n * len);
    const w = new Float32Array(n * len);
    for (let r = 0; r < n; r++) {
      for (let j = offsets[r]!, k = 0; j < offsets[r + 1]!; j++, k++) {
        padded[r * len + k] = BigInt(ids[j]!);
        w[r * len + k] = weights === undefined ? 1 : weights[j]!;
      }
    }
    feeds[multiIdsInputName(f.name)] = { data: padded, dims: [n, len] };
    feeds[multiWeightsInputName(f.name)] = { data: w, dims: [n, len] };
  });
  if (layout.numericDim > 0) feeds[NUMERIC_EXPORT_INPUT] = { data: chunk.numeric.subarray(0, n * layout.numericDim), dims: [n, layout.numericDim] };
  return feeds;
}
