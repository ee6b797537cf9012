import { EmbeddingTable } from '../embedding/table.js';

/** Where each saved table's buffers went, for a manifest. */
export interface TableEntry {
  group: string;
  index: number;
  meta: Record<string, unknown>;
  buffers: Record<string, string>;
}

/** Write every table of every group through `put(file, bytes)`; returns the manifest entries. */
export function writeTables(tables: Map<string, EmbeddingTable[]>, put: (file: string, data: Uint8Array) => void, prefix = 'emb'): TableEntry[] {
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

export function unpackFloats(bytes: Uint8Array, index: { name: string; offset: number; length: number }[]): Map<string, Float32Array> {
  const flat = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return new Map(index.map((p) => [p.name, flat.slice(p.offset, p.offset + p.length)]));
}
