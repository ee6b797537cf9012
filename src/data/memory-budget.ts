/**
 * train.memory_budget: how many bytes of training data the streaming trainer may hold, and how
 * that budget is split between the block being read (raw strings) and the shuffle window (encoded
 * ids). The estimates are per row, from the schema and the fitted FeatureSpec; the embedding
 * tables, the vocabularies and DuckDB's own buffers are not part of this budget.
 */
import type { Schema } from './schema.js';

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** '512MB', '2 GB', '1.5gb' or a number of bytes; undefined when it is neither. */
export function parseBytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? Math.floor(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?b)?\s*$/i.exec(v);
  if (m === null) return undefined;
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
  return bytes > 0 ? bytes : undefined;
}

/** Budget used when train.streaming is true and no memory_budget is given. */
export const DEFAULT_STREAM_BUDGET = 512 * 1024 ** 2;

/** Rough per-row cost of one raw (string) row as the reader builds it: V8 strings and array slots. */
export function rawBytesPerRow(schema: Schema, multiItemsPerRow: number): number {
  const text = schema.categorical.length + (schema.group !== undefined ? 1 : 0);
  const multi = (schema.multi_valued ?? []).length;
  const doubles = (schema.numeric ?? []).length + (schema.truth ?? []).length;
  const labels = 2 + (schema.labels.actions ?? []).length;
  return text * 56 + multi * 56 + multiItemsPerRow * 14 + doubles * 8 + labels;
}

/** Per-row cost of an EncodedChunk row: Int32 ids, Float32 numerics and labels, CSR multi ids. */
export function encodedBytesPerRow(schema: Schema, idFields: number, numericFields: number, multiItemsPerRow: number, weighted: boolean): number {
  const labels = 2 + 2 * (schema.labels.actions ?? []).length + (schema.truth ?? []).length + (schema.group !== undefined ? 1 : 0);
  return 4 * (idFields + numericFields + labels) + 4 * (schema.multi_valued ?? []).length + multiItemsPerRow * (weighted ? 8 : 4);
}

export interface BufferPlan {
  /** Rows read from a file at once (one DuckDB range read, then encoded and dropped). */
  blockRows: number;
  /** Rows of the shuffle window: whole blocks are gathered up to this many, then shuffled row by row. */
  windowRows: number;
  /**
   * Estimated bytes held at the peak: one raw block while it is encoded, plus the window twice
   * (its encoded blocks and their concatenation).
   */
  peakBytes: number;
}

/**
 * Split `budget` bytes: a quarter for the raw block being read, the rest for the window, which is
 * held twice while its blocks are concatenated.
 */
export function planBuffer(budget: number, rawRow: number, encodedRow: number, batchSize: number): BufferPlan {
  const blockRows = Math.max(256, Math.min(262_144, Math.floor((0.25 * budget) / rawRow)));
  const windowRows = Math.max(blockRows, batchSize, Math.floor((0.75 * budget) / (2 * encodedRow)));
  return { blockRows, windowRows, peakBytes: blockRows * rawRow + 2 * windowRows * encodedRow };
}
