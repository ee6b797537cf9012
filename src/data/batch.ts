/**
 * Columnar data as it flows through esmm. No row objects on the hot path.
 *
 * RawChunk: what the data layer reads from a file (strings for categorical cells, numbers for
 * numerics, 0/1 for labels). FeatureSpec.transform turns a RawChunk into an EncodedChunk of ids.
 * Batches for training are slices (views or gathers) of EncodedChunks.
 */

/** A chunk of rows as read from a file, one typed column per schema column. */
export interface RawChunk {
  /** Number of rows in this chunk. */
  rows: number;
  /** 1-based row number (in the source file, header excluded) of the first row of this chunk. */
  firstRow: number;
  /** Source file path, for error messages. */
  file: string;
  /** Label columns by column name: 0/1 values. */
  labels: Map<string, Uint8Array>;
  /** Single-valued categorical columns by name: raw values as strings ('' for missing). */
  categorical: Map<string, string[]>;
  /** Multi-valued columns by name: the raw cell strings ('' for empty). */
  multiValued: Map<string, string[]>;
  /** Numeric columns by name (NaN for missing). */
  numeric: Map<string, Float64Array>;
  /** Group column values as strings, when the schema names one. */
  group?: string[];
  /** Truth columns (never features) by name. */
  truth: Map<string, Float64Array>;
}

/** Ids of one multi-valued field for a chunk of rows, CSR layout. */
export interface MultiIds {
  /** Concatenated ids of all rows. */
  ids: Int32Array;
  /** offsets[i]..offsets[i+1] are row i's ids; length rows + 1. */
  offsets: Int32Array;
  /** Optional per-id weights (same length as ids), e.g. Ali-CCP's feature values. */
  weights?: Float32Array;
}

/**
 * Encoded rows, ready for the engine. Categorical ids are field-local: 0..vocabSize(field)-1,
 * with the FeatureSpec's explicit OOV id inside that range.
 */
export interface EncodedChunk {
  rows: number;
  /** Per single-valued categorical field (schema order), ids of length rows. */
  categorical: Int32Array[];
  /** Per multi-valued field (schema order). */
  multiValued: MultiIds[];
  /** Transformed numeric features, row-major [rows x numNumeric]. */
  numeric: Float32Array;
  /** Label vectors as float 0/1 (ready to feed to the graph), keyed by role. */
  labels: EncodedLabels;
  /** Group ids (dense, 0..groups-1 within the chunk's FeatureSpec), when the schema names a group. */
  group?: Int32Array;
  /** Truth columns by name. */
  truth: Map<string, Float32Array>;
}

export interface EncodedLabels {
  click: Float32Array;
  buy: Float32Array;
  /** 1 when any configured post-click action column is 1 (ESM2's DAction). */
  action?: Float32Array;
  /** Each action column by name. */
  actions: Map<string, Float32Array>;
}

/**
 * A label a loss is scored against: `click`, `buy`, `action` (any post-click action column) or
 * `col:NAME` for one specific label column (N-stage chains).
 */
export type LabelKey = 'click' | 'buy' | 'action' | `col:${string}`;
