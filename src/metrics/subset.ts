/**
 * Restrict metric inputs to a named space, e.g. CVR scored on clicked rows only:
 * `auc(subset(buy, click), subset(pcvr, click))`. Rows are kept where mask is non-zero.
 */

export function subset(values: ArrayLike<number>, mask: ArrayLike<number>): Float64Array {
  return Float64Array.from(keptIndices(values.length, mask), (i) => values[i]!);
}

export function subsetGroups(groups: ArrayLike<number>, mask: ArrayLike<number>): Int32Array {
  return Int32Array.from(keptIndices(groups.length, mask), (i) => groups[i]!);
}

/** Indices where mask is non-zero. */
export function keptIndices(length: number, mask: ArrayLike<number>): Int32Array {
  if (mask.length !== length) throw new RangeError(`subset: ${length} values but mask of length ${mask.length}`);
  let kept = 0;
  for (let i = 0; i < length; i++) if (mask[i] !== 0) kept++;
  const idx = new Int32Array(kept);
  let k = 0;
  for (let i = 0; i < length; i++) if (mask[i] !== 0) idx[k++] = i;
  return idx;
}
