/**
 * Mean binary cross-entropy, -mean(y log p + (1 - y) log(1 - p)), with p clipped to
 * [eps, 1 - eps] so a confident mistake costs a large but finite amount.
 */
import { checkLengths } from './split.js';

export function logloss(labels: ArrayLike<number>, scores: ArrayLike<number>, eps = 1e-7): number {
  const n = checkLengths(labels, scores, 'logloss');
  if (n === 0) return Number.NaN;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!(y >= 0 && y <= 1)) throw new RangeError(`logloss: label at index ${i} is ${y}, expected a value in [0, 1]`);
    const p = Math.min(1 - eps, Math.max(eps, scores[i]!));
    if (Number.isNaN(p)) throw new RangeError(`logloss: score at index ${i} is NaN`);
    acc -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
  }
  return acc / n;
}
