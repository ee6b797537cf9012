/**
 * Shared kernel of the rank metrics: split scores by class into two sorted Float64Arrays
 * (native typed-array sort, no arrays of objects), and walk them together.
 */

/** Scores of positive and negative rows, each sorted ascending. */
export interface SortedByClass {
  positives: Float64Array;
  negatives: Float64Array;
}

/** Validate and split. Labels must be 0 or 1, scores must not be NaN. */
export function sortedByClass(labels: ArrayLike<number>, scores: ArrayLike<number>, what = 'metric'): SortedByClass {
  const n = checkLengths(labels, scores, what);
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (y === 1) nPos++;
    else if (y !== 0) throw new RangeError(`${what}: label at index ${i} is ${y}, expected 0 or 1`);
    if (Number.isNaN(scores[i])) throw new RangeError(`${what}: score at index ${i} is NaN`);
  }
  const positives = new Float64Array(nPos);
  const negatives = new Float64Array(n - nPos);
  let p = 0;
  let q = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] === 1) positives[p++] = scores[i]!;
    else negatives[q++] = scores[i]!;
  }
  positives.sort();
  negatives.sort();
  return { positives, negatives };
}

/**
 * Mann-Whitney U of sorted positive vs negative scores: for each positive, the negatives below
 * it plus half the negatives tied with it. Equals the midrank formula
 * U = sum(ranks of positives) - P(P+1)/2.
 */
export function mannWhitneyU(s: SortedByClass): number {
  const { positives: pos, negatives: neg } = s;
  let u = 0;
  let j = 0; // negatives strictly below the current positive value
  let i = 0;
  while (i < pos.length) {
    const v = pos[i]!;
    let iEnd = i;
    while (iEnd < pos.length && pos[iEnd] === v) iEnd++;
    while (j < neg.length && neg[j]! < v) j++;
    let k = j;
    while (k < neg.length && neg[k] === v) k++;
    u += (iEnd - i) * (j + 0.5 * (k - j));
    i = iEnd;
  }
  return u;
}

export function checkLengths(a: ArrayLike<number>, b: ArrayLike<number>, what: string): number {
  if (a.length !== b.length) throw new RangeError(`${what}: ${a.length} labels but ${b.length} scores`);
  return a.length;
}
