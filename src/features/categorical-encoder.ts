/**
 * Value -> id for one categorical field. Ids are field-local, 0..size-1, and id 0 is always the
 * explicit OOV/missing id: an empty cell, a value unseen at fit time, or one rarer than min_count.
 *
 * - vocabulary: ids 1..n in order of count (descending) then value (ascending, by UTF-16 code
 *   units), so the same data and config always give the same ids.
 * - hash: id = 1 + fnv1a32(utf8(value)) mod buckets; size = buckets + 1. Nothing is OOV except
 *   the empty cell (collisions are shared instead).
 */
import { fnv1a32 } from './hash.js';
import { StringIndex } from './string-index.js';

export const OOV_ID = 0;

export type CategoricalEncoderJSON =
  | { encoding: 'vocabulary'; min_count: number; values: string[] }
  | { encoding: 'hash'; buckets: number };

export interface CategoricalEncoder {
  readonly encoding: 'vocabulary' | 'hash';
  /** Number of ids, OOV included. */
  readonly size: number;
  /** The id of `value`; OOV_ID when missing or unknown. */
  encode(value: string): number;
  /** True when `value` is non-empty and was not seen at fit time (counted as OOV). */
  isUnseen(value: string): boolean;
  toJSON(): CategoricalEncoderJSON;
}

export class VocabularyEncoder implements CategoricalEncoder {
  readonly encoding = 'vocabulary' as const;
  /** Value -> position in id order (id = position + 1), in typed arrays (see string-index.ts). */
  private readonly index: StringIndex;

  constructor(
    /** Known values in id order: values[k] gets id k + 1. Not kept: the index holds them. */
    values: readonly string[],
    readonly minCount: number,
  ) {
    this.index = new StringIndex(values);
  }

  /** A vocabulary from value counts: values seen at least `minCount` times, '' excluded. */
  static fromCounts(counts: Map<string, number>, minCount: number): VocabularyEncoder {
    const kept: [string, number][] = [];
    for (const [value, count] of counts) if (value !== '' && count >= minCount) kept.push([value, count]);
    kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return new VocabularyEncoder(kept.map(([v]) => v), minCount);
  }

  get size(): number {
    return this.index.size + 1;
  }

  /** The known values in id order (values[k] has id k + 1), rebuilt as strings: for saving. */
  get values(): string[] {
    return Array.from({ length: this.index.size }, (_, k) => this.index.valueAt(k));
  }

  encode(value: string): number {
    return this.index.indexOf(value) + 1;
  }

  isUnseen(value: string): boolean {
    return value !== '' && this.index.indexOf(value) < 0;
  }

  toJSON(): CategoricalEncoderJSON {
    return { encoding: 'vocabulary', min_count: this.minCount, values: this.values };
  }
}

export class HashEncoder implements CategoricalEncoder {
  readonly encoding = 'hash' as const;
  constructor(readonly buckets: number) {}

  get size(): number {
    return this.buckets + 1;
  }

  encode(value: string): number {
    return value === '' ? OOV_ID : 1 + (fnv1a32(value) % this.buckets);
  }

  isUnseen(): boolean {
    return false;
  }

  toJSON(): CategoricalEncoderJSON {
    return { encoding: 'hash', buckets: this.buckets };
  }
}

export function encoderFromJSON(j: CategoricalEncoderJSON): CategoricalEncoder {
  return j.encoding === 'hash' ? new HashEncoder(j.buckets) : new VocabularyEncoder(j.values, j.min_count);
}

/** Encodes a column, adding the number of unseen values to `oov` (when given). */
export function encodeColumn(encoder: CategoricalEncoder, values: string[], out: Int32Array): number {
  let unseen = 0;
  for (let i = 0; i < values.length; i++) {
    const id = encoder.encode(values[i]!);
    out[i] = id;
    if (id === OOV_ID && encoder.isUnseen(values[i]!)) unseen++;
  }
  return unseen;
}
