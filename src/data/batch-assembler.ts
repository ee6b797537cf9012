import type { EncodedChunk, LabelKey, MultiIds } from './batch.js';

/**
 * One mini-batch gathered from an EncodedChunk by row indices, in preallocated buffers that are
 * reused from step to step (no allocation on the hot path except for multi-valued ids, which grow).
 */
export interface Batch {
  size: number;
  /** Ids per single-valued field, length >= size (only the first `size` are valid). */
  categorical: Int32Array[];
  multiValued: MultiIds[];
  /** Row-major [size x numericDim]. */
  numeric: Float32Array;
  labels: Map<LabelKey, Float32Array>;
}

export class BatchAssembler {
  private readonly cat: Int32Array[];
  private readonly multi: { ids: Int32Array; offsets: Int32Array; weights?: Float32Array }[];
  private readonly numeric: Float32Array;
  private readonly labels = new Map<LabelKey, Float32Array>();

  constructor(
    private readonly source: EncodedChunk,
    private readonly maxBatch: number,
    private readonly labelKeys: LabelKey[],
  ) {
    this.cat = source.categorical.map(() => new Int32Array(maxBatch));
    this.multi = source.multiValued.map((m) => ({
      ids: new Int32Array(maxBatch * 4),
      offsets: new Int32Array(maxBatch + 1),
      ...(m.weights !== undefined ? { weights: new Float32Array(maxBatch * 4) } : {}),
    }));
    const numericDim = source.rows === 0 ? 0 : source.numeric.length / source.rows;
    this.numeric = new Float32Array(maxBatch * numericDim);
    for (const k of labelKeys) this.labels.set(k, new Float32Array(maxBatch));
  }

  /** Numeric features per row in the source. */
  get numericDim(): number {
    return this.source.rows === 0 ? 0 : this.source.numeric.length / this.source.rows;
  }

  /** Gather rows `order[start..end)` (or start..end directly when order is undefined). */
  assemble(start: number, end: number, order?: Int32Array): Batch {
    const n = end - start;
    if (n > this.maxBatch) throw new Error(`batch of ${n} rows exceeds the assembler's ${this.maxBatch}`);
    const src = this.source;
    const row = (i: number): number => (order === undefined ? start + i : order[start + i]!);
    for (let f = 0; f < src.categorical.length; f++) {
      const from = src.categorical[f]!;
      const to = this.cat[f]!;
      for (let i = 0; i < n; i++) to[i] = from[row(i)]!;
    }
    const multiValued = src.multiValued.map((m, f) => this.gatherMulti(m, f, n, row));
    const d = this.numericDim;
    if (d > 0) {
      for (let i = 0; i < n; i++) {
        const r = row(i);
        this.numeric.set(src.numeric.subarray(r * d, r * d + d), i * d);
      }
    }
    for (const [key, buf] of this.labels) {
      const from = labelVector(src, key);
      for (let i = 0; i < n; i++) buf[i] = from[row(i)]!;
    }
    return { size: n, categorical: this.cat, multiValued, numeric: this.numeric.subarray(0, n * d), labels: this.labels };
  }

  private gatherMulti(m: MultiIds, f: number, n: number, row: (i: number) => number): MultiIds {
    const buf = this.multi[f]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const r = row(i);
      total += m.offsets[r + 1]! - m.offsets[r]!;
    }
    if (buf.ids.length < total) {
      buf.ids = new Int32Array(total * 2);
      if (buf.weights !== undefined) buf.weights = new Float32Array(total * 2);
    }
    let k = 0;
    buf.offsets[0] = 0;
    for (let i = 0; i < n; i++) {
      const r = row(i);
      const a = m.offsets[r]!;
      const b = m.offsets[r + 1]!;
      buf.ids.set(m.ids.subarray(a, b), k);
      if (buf.weights !== undefined && m.weights !== undefined) buf.weights.set(m.weights.subarray(a, b), k);
      k += b - a;
      buf.offsets[i + 1] = k;
    }
    return {
      ids: buf.ids.subarray(0, k),
      offsets: buf.offsets.subarray(0, n + 1),
      ...(buf.weights !== undefined ? { weights: buf.weights.subarray(0, k) } : {}),
    };
  }
}

/** The label vector a loss is scored against. */
export function labelVector(chunk: EncodedChunk, key: LabelKey): Float32Array {
  if (key === 'click') return chunk.labels.click;
  if (key === 'buy') return chunk.labels.buy;
  if (key === 'action') {
    if (chunk.labels.action === undefined) throw new Error('this model needs post-click action labels (schema.labels.actions)');
    return chunk.labels.action;
  }
  const col = key.slice(4);
  const v = chunk.labels.actions.get(col);
  if (v === undefined) throw new Error(`no label column '${col}'`);
  return v;
}
