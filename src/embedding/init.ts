/**
 * Deterministic initial rows: row(id) ~ Normal(0, std^2) per coordinate, computed from a hash of
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

const TWO_PI = 2 * Math.PI;
const INV_2_32 = 1 / 4294967296;

/** Writes the initial row of `id` into out[offset .. offset+dim) (Box-Muller on hashed uniforms). */
export function writeInitialRow(
  seedKey: number,
  id: number,
  std: number,
  dim: number,
  out: Float32Array,
  offset: number,
): void {
  const h = mix32(seedKey ^ mix32(id + 0x632be5ab));
  for (let d = 0; d < dim; d += 2) {
    // Uniforms in (0, 1): never 0, so log is finite.
    const u1 = (mix32((h + Math.imul(d + 1, 0x9e3779b9)) >>> 0) + 0.5) * INV_2_32;
    const u2 = (mix32((h + Math.imul(d + 2, 0x85ebca6b)) >>> 0) + 0.5) * INV_2_32;
    const r = std * Math.sqrt(-2 * Math.log(u1));
    const angle = TWO_PI * u2;
    out[offset + d] = r * Math.cos(angle);
    if (d + 1 < dim) out[offset + d + 1] = r * Math.sin(angle);
  }
}
