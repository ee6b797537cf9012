/**
 * Encoded rows -> the exported model's input tensors: int64 ids, multi-valued ids padded to the
 * longest row (pad id 0, weight 0), numerics as they are. An attention-pooled field (named in
 * `sequences` with its max_len, ExportResult.sequences) gets sequence ids and a mask [batch, max_len]
 * instead: each row's LAST max_len items, first to last from position 0, then id 0 / mask 0
 * padding; the mask of an item is its weight (1 without weights), as EmbeddingSet.gatherSequence
 * fills it in training. For tests, benchmarks and callers that already run the FeatureSpec in
 * JavaScript.
 */
import type { EncodedChunk } from '../data/batch.js';
import type { FeatureLayout } from '../models/layout.js';
import { categoricalInputName, multiIdsInputName, multiWeightsInputName, NUMERIC_EXPORT_INPUT, sequenceIdsInputName, sequenceMaskInputName } from './inputs.js';

export type ExportFeed = { data: BigInt64Array | Float32Array; dims: number[] };

export function exportFeeds(chunk: EncodedChunk, layout: FeatureLayout, sequences: Record<string, number> = {}): Record<string, ExportFeed> {
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
    const maxLen = sequences[f.name];
    if (maxLen !== undefined) {
      const seq = new BigInt64Array(n * maxLen);
      const mask = new Float32Array(n * maxLen);
      for (let r = 0; r < n; r++) {
        const end = offsets[r + 1]!;
        for (let j = Math.max(offsets[r]!, end - maxLen), k = 0; j < end; j++, k++) {
          seq[r * maxLen + k] = BigInt(ids[j]!);
          mask[r * maxLen + k] = weights === undefined ? 1 : weights[j]!;
        }
      }
      feeds[sequenceIdsInputName(f.name)] = { data: seq, dims: [n, maxLen] };
      feeds[sequenceMaskInputName(f.name)] = { data: mask, dims: [n, maxLen] };
      return;
    }
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
