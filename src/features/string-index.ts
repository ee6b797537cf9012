/**
 * A frozen string -> index map for vocabularies of millions of values, in flat typed arrays.
 *
 * Why not Map<string, number> + string[]: each distinct value then costs a V8 string (header +
 * characters), an array slot and a Map entry, about 130 bytes for a 12-character id (measured
 * with 5M values). A real log's id fields hold millions of distinct values, and the vocabulary
 * stays in memory for the whole run, next to the embedding tables and the streaming window, so
 * at 11M ids it was the largest single consumer (bench/scale.ts). Here a value costs its
 * characters (1 byte each when every value is Latin-1, else 2), a 4-byte start offset and two
 * 4-byte hash slots: about 24 bytes for the same id.
 *
 * Lookups hash the probe's UTF-16 code units (FNV-1a) and compare characters in place, so
 * nothing is allocated per lookup. Duplicate values keep the LAST index, as a Map built from
 * the same list would.
 */
export class StringIndex {
  /** Every value's code units, back to back: Latin-1 values as bytes, otherwise UTF-16. */
  private readonly chars: Uint8Array | Uint16Array;
  /** Value k occupies chars[starts[k] .. starts[k + 1]). */
  private readonly starts: Int32Array;
  /** Open addressing with linear probing: slot -> index + 1, 0 = empty; power-of-two length. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(values: readonly string[]) {
    let total = 0;
    let wide = false;
    for (const v of values) {
      total += v.length;
      if (!wide) for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 0xff) { wide = true; break; }
    }
    this.chars = wide ? new Uint16Array(total) : new Uint8Array(total);
    this.starts = new Int32Array(values.length + 1);
    let at = 0;
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      this.starts[k] = at;
      for (let i = 0; i < v.length; i++) this.chars[at++] = v.charCodeAt(i);
    }
    this.starts[values.length] = at;
    // At most half full, so a probe sequence stays short.
    let capacity = 16;
    while (capacity < 2 * values.length) capacity *= 2;
    this.slots = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      let s = hashUnits(v) & this.mask;
      for (;;) {
        const held = this.slots[s]!;
        if (held === 0 || this.equals(held - 1, v)) {
          this.slots[s] = k + 1;
          break;
        }
        s = (s + 1) & this.mask;
      }
    }
  }

  /** Number of values indexed (duplicates counted). */
  get size(): number {
    return this.starts.length - 1;
  }

  /** The index of `value`, or -1 when it was not indexed. */
  indexOf(value: string): number {
    let s = hashUnits(value) & this.mask;
    for (;;) {
      const held = this.slots[s]!;
      if (held === 0) return -1;
      if (this.equals(held - 1, value)) return held - 1;
      s = (s + 1) & this.mask;
    }
  }

  /** Value k, rebuilt from its code units (for saving; lookups never build strings). */
  valueAt(k: number): string {
    const from = this.starts[k]!;
    const to = this.starts[k + 1]!;
    let out = '';
    // In pieces: String.fromCharCode takes its code units as arguments, which have a limit.
    for (let i = from; i < to; i += 8192) out += String.fromCharCode(...this.chars.subarray(i, Math.min(to, i + 8192)));
    return out;
  }

  private equals(k: number, value: string): boolean {
    const from = this.starts[k]!;
    if (this.starts[k + 1]! - from !== value.length) return false;
    const chars = this.chars;
    for (let i = 0; i < value.length; i++) if (chars[from + i] !== value.charCodeAt(i)) return false;
    return true;
  }
}

/** 32-bit FNV-1a over UTF-16 code units (in-process only; never stored, so not the portable fnv1a32). */
function hashUnits(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  // Mix the high bits down: the table masks the low ones.
  return (h ^ (h >>> 16)) >>> 0;
}
