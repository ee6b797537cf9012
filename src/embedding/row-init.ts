/**
 * Deterministic initial rows: row(id) ~ approximately Normal(0, std^2) per coordinate (see
 * writeInitialRow), computed from a hash of
 * (table seed, id, coordinate) alone. The same id therefore gets the same initial vector whatever
 * order ids are touched in, whether it was materialised or not, and after save/load.
 */

/** A 32-bit integer finaliser (lowbias32 by Chris Wellons): good avalanche, cheap. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a over UTF-16 code units. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Folds a table's name and integer seed into one 32-bit key (tables with one seed still differ). */
export function tableSeedKey(name: string, seed: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return mix32(hashString(name) ^ mix32(lo ^ mix32(hi + 0x9e3779b9)));
}

/**
 * Sum of four 16-bit uniforms (Irwin-Hall, n = 4), centred and scaled to unit variance: an
 * approximately normal value bounded at +-sqrt(12) = 3.46 std (a truncated-normal-like init, as
 * TensorFlow uses for embeddings). Two hashes and no log/sqrt/cos per value: about 8x cheaper than
 * Box-Muller, which matters when a cold batch meets tens of thousands of new ids.
 */
const IRWIN_HALL_MEAN = 2 * 65535;
const IRWIN_HALL_INV_STD = 1 / Math.sqrt((4 * (65536 * 65536 - 1)) / 12);

/** Writes the initial row of `id` into out[offset .. offset+dim). */
export function writeInitialRow(
  seedKey: number,
  id: number,
  std: number,
  dim: number,
  out: Float32Array,
  offset: number,
): void {
  const h = mix32(seedKey ^ mix32(id + 0x632be5ab));
  const scale = std * IRWIN_HALL_INV_STD;
  for (let d = 0; d < dim; d++) {
    const a = mix32((h + Math.imul(2 * d + 1, 0x9e3779b9)) >>> 0);
    const b = mix32((h + Math.imul(2 * d + 2, 0x9e3779b9)) >>> 0);
    out[offset + d] = ((a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) - IRWIN_HALL_MEAN) * scale;
  }
}
