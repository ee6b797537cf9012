/**
 * Row operations on EncodedChunks, for the trainer: slice (views, no copy), gather rows (for
 * shuffling and splitting) and concatenate.
 */
import type { EncodedChunk, EncodedLabels, MultiIds } from '../data/batch.js';
import { checkRowIndices } from '../data/row-indices.js';

/** Rows [start, end): typed-array views where the layout allows (multi-valued ids are copied offsets). */
export function sliceEncoded(chunk: EncodedChunk, start: number, end: number): EncodedChunk {
  const s = Math.max(0, Math.min(start, chunk.rows));
  const e = Math.max(s, Math.min(end, chunk.rows));
  const width = chunk.rows > 0 ? chunk.numeric.length / chunk.rows : 0;
  const out: EncodedChunk = {
    rows: e - s,
    categorical: chunk.categorical.map((c) => c.subarray(s, e)),
    multiValued: chunk.multiValued.map((m) => sliceMulti(m, s, e)),
    numeric: chunk.numeric.subarray(s * width, e * width),
    labels: mapLabels(chunk.labels, (a) => a.subarray(s, e)),
    truth: new Map([...chunk.truth].map(([k, v]) => [k, v.subarray(s, e)])),
  };
  if (chunk.group !== undefined) out.group = chunk.group.subarray(s, e);
  return out;
}

/** The rows at `indices`, in that order, copied. */
export function takeEncodedRows(chunk: EncodedChunk, indices: ArrayLike<number>): EncodedChunk {
  const n = indices.length;
  checkRowIndices('takeEncodedRows', indices, chunk.rows);
  const width = chunk.rows > 0 ? chunk.numeric.length / chunk.rows : 0;
  const gather = <T extends Int32Array | Float32Array>(src: T, out: T): T => {
    for (let i = 0; i < n; i++) out[i] = src[indices[i]!]!;
    return out;
  };
  const numeric = new Float32Array(n * width);
  for (let i = 0; i < n; i++) numeric.set(chunk.numeric.subarray(indices[i]! * width, (indices[i]! + 1) * width), i * width);
  const out: EncodedChunk = {
    rows: n,
    categorical: chunk.categorical.map((c) => gather(c, new Int32Array(n))),
    multiValued: chunk.multiValued.map((m) => takeMulti(m, indices)),
    numeric,
    labels: mapLabels(chunk.labels, (a) => gather(a, new Float32Array(n))),
    truth: new Map([...chunk.truth].map(([k, v]) => [k, gather(v, new Float32Array(n))])),
  };
  if (chunk.group !== undefined) out.group = gather(chunk.group, new Int32Array(n));
  return out;
}

/** All rows of `chunks` in order. The chunks must come from the same FeatureSpec. */
export function concatEncoded(chunks: EncodedChunk[]): EncodedChunk {
  if (chunks.length === 0) throw new Error('concatEncoded needs at least one chunk');
  if (chunks.length === 1) return chunks[0]!;
  const first = chunks[0]!;
  const rows = chunks.reduce((s, c) => s + c.rows, 0);
  const cat = <T extends Int32Array | Float32Array>(parts: T[], out: T): T => {
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const f32 = (pick: (c: EncodedChunk) => Float32Array) => {
    const parts = chunks.map(pick);
    return cat(parts, new Float32Array(parts.reduce((s, p) => s + p.length, 0)));
  };
  const labels: EncodedLabels = {
    click: f32((c) => c.labels.click),
    buy: f32((c) => c.labels.buy),
    actions: new Map([...first.labels.actions.keys()].map((k) => [k, f32((c) => c.labels.actions.get(k)!)])),
  };
  if (first.labels.action !== undefined) labels.action = f32((c) => c.labels.action!);
  const out: EncodedChunk = {
    rows,
    categorical: first.categorical.map((_, f) => cat(chunks.map((c) => c.categorical[f]!), new Int32Array(rows))),
    multiValued: first.multiValued.map((_, f) => concatMulti(chunks.map((c) => c.multiValued[f]!))),
    numeric: f32((c) => c.numeric),
    labels,
    truth: new Map([...first.truth.keys()].map((k) => [k, f32((c) => c.truth.get(k)!)])),
  };
  if (first.group !== undefined) out.group = cat(chunks.map((c) => c.group!), new Int32Array(rows));
  return out;
}

function mapLabels(l: EncodedLabels, f: (a: Float32Array) => Float32Array): EncodedLabels {
  const out: EncodedLabels = {
    click: f(l.click),
    buy: f(l.buy),
    actions: new Map([...l.actions].map(([k, v]) => [k, f(v)])),
  };
  if (l.action !== undefined) out.action = f(l.action);
  return out;
}

function sliceMulti(m: MultiIds, s: number, e: number): MultiIds {
  const base = m.offsets[s]!;
  const stop = m.offsets[e]!;
  const offsets = new Int32Array(e - s + 1);
  for (let i = 0; i <= e - s; i++) offsets[i] = m.offsets[s + i]! - base;
  const out: MultiIds = { ids: m.ids.subarray(base, stop), offsets };
  if (m.weights !== undefined) out.weights = m.weights.subarray(base, stop);
  return out;
}

function takeMulti(m: MultiIds, indices: ArrayLike<number>): MultiIds {
  const n = indices.length;
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const r = indices[i]!;
    offsets[i + 1] = offsets[i]! + (m.offsets[r + 1]! - m.offsets[r]!);
  }
  const ids = new Int32Array(offsets[n]!);
  const weights = m.weights !== undefined ? new Float32Array(offsets[n]!) : undefined;
  for (let i = 0; i < n; i++) {
    const r = indices[i]!;
    ids.set(m.ids.subarray(m.offsets[r]!, m.offsets[r + 1]!), offsets[i]!);
    weights?.set(m.weights!.subarray(m.offsets[r]!, m.offsets[r + 1]!), offsets[i]!);
  }
  const out: MultiIds = { ids, offsets };
  if (weights !== undefined) out.weights = weights;
  return out;
}

function concatMulti(parts: MultiIds[]): MultiIds {
  const rows = parts.reduce((s, p) => s + p.offsets.length - 1, 0);
  const total = parts.reduce((s, p) => s + p.ids.length, 0);
  const offsets = new Int32Array(rows + 1);
  const ids = new Int32Array(total);
  const weighted = parts[0]!.weights !== undefined;
  const weights = weighted ? new Float32Array(total) : undefined;
  let r = 0;
  let at = 0;
  for (const p of parts) {
    const n = p.offsets.length - 1;
    for (let i = 1; i <= n; i++) offsets[r + i] = at + p.offsets[i]! - p.offsets[0]!;
    ids.set(p.ids, at);
    if (weights !== undefined) weights.set(p.weights!, at);
    r += n;
    at += p.ids.length;
  }
  const out: MultiIds = { ids, offsets };
  if (weights !== undefined) out.weights = weights;
  return out;
}
