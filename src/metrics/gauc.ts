/**
 * Group AUC: per-group AUC averaged with impression weights over the groups that have both
 * classes, GAUC = sum_g n_g AUC_g / sum_g n_g (the ESM2 / DIN definition; groups with one class
 * have no AUC and are left out, and `groups` says how many counted).
 */
import { checkLengths, mannWhitneyU, sortedByClass } from './split.js';

export interface GaucResult {
  /** NaN when no group has both classes. */
  gauc: number;
  /** Number of groups with both classes, i.e. that entered the mean. */
  groups: number;
}

export function gauc(labels: ArrayLike<number>, scores: ArrayLike<number>, groups: ArrayLike<number>): GaucResult {
  const n = checkLengths(labels, scores, 'gauc');
  if (groups.length !== n) throw new RangeError(`gauc: ${n} labels but ${groups.length} group ids`);
  // Bucket rows by group (counting sort over dense ids; group ids may be any integers).
  const dense = new Int32Array(n);
  const idOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const g = groups[i]!;
    let id = idOf.get(g);
    if (id === undefined) {
      id = idOf.size;
      idOf.set(g, id);
    }
    dense[i] = id;
  }
  const G = idOf.size;
  const start = new Int32Array(G + 1);
  for (let i = 0; i < n; i++) start[dense[i]! + 1]! += 1;
  for (let g = 0; g < G; g++) start[g + 1]! += start[g]!;
  const fill = start.slice(0, G);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[dense[i]!]!++] = i;

  let weighted = 0;
  let weight = 0;
  let used = 0;
  for (let g = 0; g < G; g++) {
    const lo = start[g]!;
    const hi = start[g + 1]!;
    const gl = new Float64Array(hi - lo);
    const gs = new Float64Array(hi - lo);
    for (let k = lo; k < hi; k++) {
      gl[k - lo] = labels[order[k]!]!;
      gs[k - lo] = scores[order[k]!]!;
    }
    const s = sortedByClass(gl, gs, 'gauc');
    const p = s.positives.length;
    const q = s.negatives.length;
    if (p === 0 || q === 0) continue;
    weighted += (hi - lo) * (mannWhitneyU(s) / (p * q));
    weight += hi - lo;
    used++;
  }
  return { gauc: used > 0 ? weighted / weight : Number.NaN, groups: used };
}
