/**
 * Argument checks and record layout shared by the embedding table implementations
 * (EmbeddingTable, SharedEmbeddingTable, StoreBackedTable), so that all of them refuse the same
 * bad calls with the same words.
 */
import type { MultiIds } from '../data/batch.js';

/**
 * 4-byte words per stored row: the weights, the optimizer state, and a pad word when dim is even,
 * so records stay 8-byte aligned and gather can copy float pairs.
 */
export function recordStride(dim: number, stateWords: number): number {
  const words = dim + stateWords;
  return words + ((dim & 1) === 0 && (words & 1) === 1 ? 1 : 0);
}

/** Throws unless n rows of `dim` floats at `offset + i * stride` fit in an array of `length`. */
export function checkLayout(table: string, dim: number, what: string, n: number, length: number, stride: number, offset: number): void {
  if (n === 0) return;
  if (!Number.isInteger(stride) || !Number.isInteger(offset) || stride < dim || offset < 0) {
    throw new RangeError(`${table}: ${what} stride ${stride} / offset ${offset} invalid for dim ${dim}`);
  }
  if (offset + (n - 1) * stride + dim > length) {
    throw new RangeError(`${table}: ${what} of length ${length} too short for ${n} rows (stride ${stride}, offset ${offset})`);
  }
}

/** The number of rows in a multi-valued batch, after checking its offsets and weights. */
export function checkMultiIds(table: string, m: MultiIds): number {
  const { offsets, ids, weights } = m;
  const n = offsets.length - 1;
  if (n < 0) throw new RangeError(`${table}: multi-valued offsets must have rows + 1 entries`);
  let ok = offsets[0]! >= 0 && offsets[n]! <= ids.length;
  for (let i = 0; ok && i < n; i++) ok = offsets[i]! <= offsets[i + 1]!;
  if (!ok) throw new RangeError(`${table}: multi-valued offsets must rise from >= 0 to <= ids.length`);
  if (weights !== undefined && weights.length < ids.length) throw new RangeError(`${table}: multi-valued weights shorter than ids`);
  return n;
}

/** The error for an id outside a table of `rows` rows. */
export function badId(table: string, rows: number, id: number): never {
  throw new RangeError(`embedding table '${table}': id ${id} outside 0..${rows - 1}`);
}
