/**
 * Numeric feature transforms, fitted on training data.
 *
 * - standardize_tanh (ESM2's choice): x -> tanh((x - mean) / std); a missing value becomes the
 *   mean, i.e. 0 after the transform. std is the population standard deviation (1 when zero).
 * - quantile: Q buckets with cut points at the k/Q quantiles of the training values; the column
 *   becomes a categorical field with ids 0 = missing, 1..cuts+1 = bucket.
 */
import { UserError } from '../errors.js';
import { OOV_ID } from './categorical-encoder.js';

export interface StandardizeJSON {
  transform: 'standardize_tanh';
  mean: number;
  std: number;
}

export interface QuantileJSON {
  transform: 'quantile';
  /** Strictly increasing cut points; bucket b holds cuts[b-2] <= x < cuts[b-1]. */
  cuts: number[];
}

/** Streaming mean/variance (Chan et al.'s parallel update), so chunks can be added one by one. */
export class MomentsAccumulator {
  count = 0;
  mean = 0;
  m2 = 0;

  add(values: Float64Array): void {
    let n = 0;
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      if (Number.isFinite(x)) {
        n++;
        sum += x;
      }
    }
    if (n === 0) return;
    const mean = sum / n;
    let m2 = 0;
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      if (Number.isFinite(x)) m2 += (x - mean) * (x - mean);
    }
    const total = this.count + n;
    const delta = mean - this.mean;
    this.mean += (delta * n) / total;
    this.m2 += m2 + (delta * delta * this.count * n) / total;
    this.count = total;
  }

  /** The mean and std; throws a UserError naming the column when its values overflow them (e.g. 1e308). */
  finish(column?: string, file?: string): StandardizeJSON {
    const std = this.count > 0 ? Math.sqrt(this.m2 / this.count) : 0;
    if (!Number.isFinite(this.mean) || !Number.isFinite(std)) {
      const key = column === undefined ? 'transform: quantile' : `features.fields.${column}.transform: quantile`;
      throw new UserError(`values too large to standardise (their sum or variance overflows a double); rescale the column (e.g. log) or set ${key}`, {
        ...(file !== undefined ? { file } : {}),
        ...(column !== undefined ? { column } : {}),
      });
    }
    return { transform: 'standardize_tanh', mean: this.count > 0 ? this.mean : 0, std: std > 1e-12 ? std : 1 };
  }
}

/** Writes tanh((x - mean)/std) of column `values` into `out` at stride `stride`, offset `at`. */
export function standardizeTanh(p: StandardizeJSON, values: Float64Array, out: Float32Array, stride: number, at: number): void {
  const inv = 1 / p.std;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    out[i * stride + at] = Number.isFinite(x) ? Math.tanh((x - p.mean) * inv) : 0;
  }
}

/** Cut points for `buckets` equal-frequency buckets of the finite values (duplicates merged). */
export function fitQuantileCuts(parts: Float64Array[], buckets: number): QuantileJSON {
  let n = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) if (Number.isFinite(p[i]!)) n++;
  const sorted = new Float64Array(n);
  let k = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) if (Number.isFinite(p[i]!)) sorted[k++] = p[i]!;
  sorted.sort();
  const cuts: number[] = [];
  for (let b = 1; b < buckets && n > 0; b++) {
    const cut = sorted[Math.min(n - 1, Math.floor((b * n) / buckets))]!;
    // The smallest value opens bucket 1 anyway; a cut equal to it would leave bucket 1 empty.
    if (cut > sorted[0]! && (cuts.length === 0 || cut > cuts[cuts.length - 1]!)) cuts.push(cut);
  }
  return { transform: 'quantile', cuts };
}

/** Number of ids of a quantile field: missing + one per bucket. */
export function quantileSize(q: QuantileJSON): number {
  return q.cuts.length + 2;
}

/** Bucket ids: OOV_ID for missing, else 1 + (number of cuts <= x). */
export function bucketize(q: QuantileJSON, values: Float64Array, out: Int32Array): void {
  const cuts = q.cuts;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (!Number.isFinite(x)) {
      out[i] = OOV_ID;
      continue;
    }
    let lo = 0;
    let hi = cuts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cuts[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    out[i] = 1 + lo;
  }
}
