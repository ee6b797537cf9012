/**
 * Fast reading of DuckDB VARCHAR vectors into JavaScript strings.
 *
 * Why: the public DuckDBVarCharVector.getItem builds a Uint8Array view and calls TextDecoder for
 * every cell, and checks validity with BigInt arithmetic; for categorical columns this dominated
 * reading time and produced one fresh string per cell. Categorical values repeat a lot, so we
 * read DuckDB's 16-byte string headers directly (length, then up to 12 inlined bytes) and keep a
 * small direct-mapped cache from those bytes to an already-built string: repeated values cost a
 * few integer compares and share one string object (less memory, less GC).
 *
 * This touches the vector's `dataView` field, which node-api does not export. If a future
 * version changes that layout we fall back to getItem (checked once per vector), so results stay
 * correct. Only use it on columns that are never NULL (the read query coalesces them to '').
 */
import type { DuckDBVector } from '@duckdb/node-api';

const CACHE_BITS = 14;
const CACHE_SIZE = 1 << CACHE_BITS;
const INLINE_BYTES = 12;

export class TextColumnReader {
  private readonly keys = new Uint32Array(CACHE_SIZE * 4);
  private readonly values: (string | undefined)[] = new Array<string | undefined>(CACHE_SIZE);

  /** Copies cells rows[from..from+count) of `vector` into out[at..]. */
  copy(vector: DuckDBVector, rows: Int32Array, from: number, count: number, out: string[], at: number): void {
    const view = (vector as unknown as { dataView?: unknown }).dataView;
    if (!(view instanceof DataView) || view.byteOffset % 4 !== 0 || view.byteLength < vector.itemCount * 16) {
      for (let k = 0; k < count; k++) out[at + k] = vector.getItem(rows[from + k]!) as string;
      return;
    }
    const words = new Uint32Array(view.buffer, view.byteOffset, vector.itemCount * 4);
    const bytes = new Uint8Array(view.buffer, view.byteOffset, vector.itemCount * 16);
    const keys = this.keys;
    const values = this.values;
    for (let k = 0; k < count; k++) {
      const i = rows[from + k]!;
      const w = i * 4;
      const len = words[w]!;
      if (len > INLINE_BYTES) {
        out[at + k] = vector.getItem(i) as string;
        continue;
      }
      const w1 = words[w + 1]!;
      const w2 = words[w + 2]!;
      const w3 = words[w + 3]!;
      // Mix the four words into a cache slot (multiplicative hashing).
      const h = (Math.imul(len ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w2, 0x85ebca6b) ^ Math.imul(w3, 0xc2b2ae35), 0x27d4eb2f) >>> (32 - CACHE_BITS)) * 4;
      const cached = values[h >> 2];
      if (cached !== undefined && keys[h] === len && keys[h + 1] === w1 && keys[h + 2] === w2 && keys[h + 3] === w3) {
        out[at + k] = cached;
        continue;
      }
      const text = decodeInline(bytes, i * 16 + 4, len) ?? (vector.getItem(i) as string);
      keys[h] = len;
      keys[h + 1] = w1;
      keys[h + 2] = w2;
      keys[h + 3] = w3;
      values[h >> 2] = text;
      out[at + k] = text;
    }
  }
}

/** ASCII bytes to a string; undefined when non-ASCII (the caller then decodes UTF-8 properly). */
function decodeInline(bytes: Uint8Array, start: number, len: number): string | undefined {
  let s = '';
  for (let j = 0; j < len; j++) {
    const b = bytes[start + j]!;
    if (b >= 0x80) return undefined;
    s += String.fromCharCode(b);
  }
  return s;
}
