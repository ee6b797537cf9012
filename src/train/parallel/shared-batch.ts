/**
 * A batch in shared memory: the main thread writes each batch once, and every shard worker reads
 * it in place (its slice for the gather, the whole batch for the update of its own rows), instead
 * of one structured-clone copy per worker per step.
 *
 * Fixed-size parts (categorical ids, multi-valued offsets, numerics, labels) are sized for the
 * largest batch; the multi-valued ids and weights vary per batch and live in growable buffers
 * (grown by the main thread between steps; a reader remakes its views when the size changed).
 */
import type { Batch } from '../../data/batch-assembler.js';
import type { LabelKey } from '../../data/batch.js';
import type { GrowableSharedArrayBuffer } from '../../embedding/shared/shared-table.js';

export interface SharedBatchHandle {
  maxBatch: number;
  categoricalFields: number;
  numericDim: number;
  labelKeys: LabelKey[];
  /** Int32 [categorical fields x maxBatch]. */
  categorical: SharedArrayBuffer;
  /** Int32 [multi-valued fields x (maxBatch + 1)]. */
  offsets: SharedArrayBuffer;
  /** Float32 [maxBatch x numericDim]. */
  numeric: SharedArrayBuffer;
  /** Float32 [labels x maxBatch]. */
  labels: SharedArrayBuffer;
  /** Per multi-valued field: int32 ids. */
  multiIds: GrowableSharedArrayBuffer[];
  /** Per multi-valued field: float32 weights (grown on the first batch that has them). */
  multiWeights: GrowableSharedArrayBuffer[];
}

const GrowableSab = SharedArrayBuffer as unknown as new (length: number, opts: { maxByteLength: number }) => GrowableSharedArrayBuffer;
/** Multi-valued ids of one field in one batch: at most 2^29 (2 GiB of int32). */
const MAX_MULTI_BYTES = 2 ** 31;

export function createSharedBatch(maxBatch: number, nCat: number, nMulti: number, numericDim: number, labelKeys: LabelKey[]): SharedBatchHandle {
  const sab = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(Math.max(4, bytes));
  const multi = Array.from({ length: nMulti });
  return {
    maxBatch, categoricalFields: nCat, numericDim, labelKeys,
    categorical: sab(4 * nCat * maxBatch),
    offsets: sab(4 * nMulti * (maxBatch + 1)),
    numeric: sab(4 * maxBatch * numericDim),
    labels: sab(4 * labelKeys.length * maxBatch),
    multiIds: multi.map(() => new GrowableSab(4 * maxBatch * 4, { maxByteLength: MAX_MULTI_BYTES })),
    multiWeights: multi.map(() => new GrowableSab(0, { maxByteLength: MAX_MULTI_BYTES })),
  };
}

/** Copy `b` into the shared batch (main thread, between steps); returns which multi-valued fields have weights. */
export function writeSharedBatch(h: SharedBatchHandle, b: Batch): boolean[] {
  const n = b.size;
  if (n > h.maxBatch) throw new Error(`batch of ${n} rows exceeds the shared batch's ${h.maxBatch}`);
  const cat = new Int32Array(h.categorical);
  b.categorical.forEach((c, f) => cat.set(c.subarray(0, n), f * h.maxBatch));
  const offsets = new Int32Array(h.offsets);
  b.multiValued.forEach((m, f) => {
    const first = m.offsets[0]!;
    const count = m.offsets[n]! - first;
    // Offsets are rebased to 0 so the ids start at the buffer's start.
    for (let i = 0; i <= n; i++) offsets[f * (h.maxBatch + 1) + i] = m.offsets[i]! - first;
    const ids = h.multiIds[f]!;
    if (ids.byteLength < 4 * count) ids.grow(Math.min(ids.maxByteLength, Math.max(4 * count, 2 * ids.byteLength)));
    new Int32Array(ids, 0, count).set(m.ids.subarray(first, first + count));
    if (m.weights !== undefined) {
      const w = h.multiWeights[f]!;
      if (w.byteLength < 4 * count) w.grow(Math.min(w.maxByteLength, Math.max(4 * count, 2 * w.byteLength)));
      new Float32Array(w, 0, count).set(m.weights.subarray(first, first + count));
    }
  });
  new Float32Array(h.numeric).set(b.numeric.subarray(0, n * h.numericDim));
  const labels = new Float32Array(h.labels);
  h.labelKeys.forEach((k, l) => {
    const v = b.labels.get(k);
    if (v !== undefined) labels.set(v.subarray(0, n), l * h.maxBatch);
  });
  return b.multiValued.map((m) => m.weights !== undefined);
}

/**
 * The shared batch's first n rows as a Batch of views (a worker, after the hand-over). The views
 * are backed by a SharedArrayBuffer, which onnxruntime refuses as a tensor: copy before feeding.
 */
export function readSharedBatch(h: SharedBatchHandle, n: number, weighted: boolean[]): Batch {
  const offsets = new Int32Array(h.offsets);
  return {
    size: n,
    categorical: Array.from({ length: h.categoricalFields }, (_, f) => new Int32Array(h.categorical, 4 * f * h.maxBatch, n)),
    multiValued: h.multiIds.map((ids, f) => {
      const off = offsets.subarray(f * (h.maxBatch + 1), f * (h.maxBatch + 1) + n + 1);
      const count = off[n]!;
      return { ids: new Int32Array(ids, 0, count), offsets: off, ...(weighted[f] === true ? { weights: new Float32Array(h.multiWeights[f]!, 0, count) } : {}) };
    }),
    numeric: new Float32Array(h.numeric, 0, n * h.numericDim),
    labels: new Map(h.labelKeys.map((k, l) => [k, new Float32Array(h.labels, 4 * l * h.maxBatch, n)])),
  };
}
