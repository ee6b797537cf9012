import type { EncodedChunk } from '../data/batch.js';
import { sliceEncoded } from '../features/encoded-rows.js';
import type { Batch } from '../data/batch-assembler.js';

const NO_LABELS = new Map<never, Float32Array>();

/**
 * Rows [start, end) of an encoded chunk as a prediction Batch, without copying ids or numerics
 * (typed-array views; only multi-valued offsets are rebased). No labels.
 */
export function batchView(chunk: EncodedChunk, start: number, end: number): Batch {
  const s = start === 0 && end === chunk.rows ? chunk : sliceEncoded(chunk, start, end);
  return { size: end - start, categorical: s.categorical, multiValued: s.multiValued, numeric: s.numeric, labels: NO_LABELS };
}
