import { UserError } from '../errors.js';
import { EmbeddingTable } from '../embedding/table.js';
import type { EmbeddingStore } from '../embedding/embedding-store.js';

/** Where each saved table's buffers went, for a manifest. */
export interface TableEntry {
  group: string;
  index: number;
  meta: Record<string, unknown>;
  buffers: Record<string, string>;
}

/** Write every table of every group through `put(file, bytes)`; returns the manifest entries. */
export function writeTables(tables: Map<string, EmbeddingStore[]>, put: (file: string, data: Uint8Array) => void, prefix = 'emb'): TableEntry[] {
  const entries: TableEntry[] = [];
  for (const [group, ts] of tables) {
    ts.forEach((t, index) => {
      const saved = t.save();
      const buffers: Record<string, string> = {};
      for (const [k, b] of Object.entries(saved.buffers)) {
        const file = `${prefix}/${group}.${index}.${k}.bin`;
        put(file, b);
        buffers[k] = file;
      }
      entries.push({ group, index, meta: saved.meta, buffers });
    });
  }
  return entries;
}

/** Read tables written by writeTables through `read(file)`. */
export function readTables(entries: TableEntry[], read: (file: string) => Uint8Array): Map<string, EmbeddingTable[]> {
  const tables = new Map<string, EmbeddingTable[]>();
  for (const t of entries) {
    const buffers = Object.fromEntries(Object.entries(t.buffers).map(([k, file]) => [k, read(file)]));
    const w = buffers.weights;
    if (w !== undefined) {
      // Weights must be finite: one NaN row would only show up as NaN predictions for the ids that hit it.
      const f = new Float32Array(w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength - (w.byteLength % 4)));
      for (let i = 0; i < f.length; i++) {
        if (!Number.isFinite(f[i]!)) throw new UserError(`embedding table '${t.group}.${t.index}' holds a non-finite weight (${f[i]})`, { file: t.buffers.weights! });
      }
    }
    const list = tables.get(t.group) ?? [];
    list[t.index] = EmbeddingTable.load({ meta: t.meta, buffers });
    tables.set(t.group, list);
  }
  return tables;
}

/** Concatenate named Float32Arrays into one buffer with an index of offsets. */
export function packFloats(arrays: Map<string, Float32Array> | [string, Float32Array][]): { bytes: Uint8Array; index: { name: string; offset: number; length: number }[] } {
  const entries = arrays instanceof Map ? [...arrays] : arrays;
  const index: { name: string; offset: number; length: number }[] = [];
  let total = 0;
  for (const [name, v] of entries) {
    index.push({ name, offset: total, length: v.length });
    total += v.length;
  }
  const flat = new Float32Array(total);
  entries.forEach(([, v], i) => flat.set(v, index[i]!.offset));
  return { bytes: new Uint8Array(flat.buffer), index };
}

/**
 * Split a buffer written by packFloats back into its arrays. With `file`, the index must cover the
 * buffer exactly and every value must be finite (a NaN weight would only show up as NaN predictions).
 */
export function unpackFloats(bytes: Uint8Array, index: { name: string; offset: number; length: number }[], file?: string): Map<string, Float32Array> {
  const flat = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength - (bytes.byteLength % 4)));
  if (file !== undefined) {
    const total = index.reduce((s, p) => s + p.length, 0);
    if (bytes.byteLength !== total * 4 || index.some((p) => p.offset + p.length > flat.length)) {
      throw new UserError(`holds ${bytes.byteLength} bytes but its index describes ${total} floats`, { file });
    }
    for (let i = 0; i < flat.length; i++) {
      if (!Number.isFinite(flat[i]!)) throw new UserError(`value ${i} is ${flat[i]}, not a finite number`, { file });
    }
  }
  return new Map(index.map((p) => [p.name, flat.slice(p.offset, p.offset + p.length)]));
}

/** An index of packed floats from a manifest: an array of { name, offset, length } with non-negative integers. */
export function validateFloatIndex(index: unknown, file: string, key: string): void {
  const ok = Array.isArray(index) && index.every((p: unknown) => {
    const q = p as { name?: unknown; offset?: unknown; length?: unknown } | null;
    return q !== null && typeof q === 'object' && typeof q.name === 'string' && Number.isSafeInteger(q.offset) && Number.isSafeInteger(q.length) && (q.offset as number) >= 0 && (q.length as number) >= 0;
  });
  if (!ok) throw new UserError('is not a list of { name, offset, length } entries', { file, key });
}

/** Table entries from a manifest: group, index, meta and buffer paths of the right types. */
export function validateTableEntries(entries: unknown, file: string, key = 'tables'): void {
  const ok = Array.isArray(entries) && entries.every((t: unknown) => {
    const e = t as Partial<TableEntry> | null;
    return e !== null && typeof e === 'object' && typeof e.group === 'string' && Number.isSafeInteger(e.index) && (e.index as number) >= 0 && (e.index as number) < 1e6 &&
      e.meta !== null && typeof e.meta === 'object' && e.buffers !== null && typeof e.buffers === 'object' && Object.values(e.buffers).every((b) => typeof b === 'string');
  });
  if (!ok) throw new UserError('is not a list of embedding table entries', { file, key });
}
