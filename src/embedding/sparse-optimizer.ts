/**
 * Row-wise sparse optimizers for embedding tables.
 *
 * A table stores each materialised row as one contiguous record of floats:
 *   [ weights (dim) | optimizer state (stateWords) | slot (1 int, the table's own bookkeeping) ]
 * so that one update touches one memory region per row (random access dominates the cost).
 * Optimizer state that is integral (Adam's per-row step count) lives in an Int32Array view of the
 * same buffer. An optimizer applies one step to a whole batch of unique rows in one call, so the
 * per-row loop stays monomorphic and tight.
 */
import { UserError } from '../errors.js';

export type SparseOptimizerConfig =
  /** Row-wise Adagrad (one accumulator per row, FBGEMM style): the default. */
  | { type: 'adagrad'; lr: number; initialAccumulator?: number; eps?: number }
  /** Lazy Adam: moments (and a step count, for bias correction) of touched rows only. */
  | { type: 'adam'; lr: number; beta1?: number; beta2?: number; eps?: number }
  /** Per-coordinate FTRL-proximal; lr is FTRL's alpha. */
  | { type: 'ftrl'; lr: number; l1?: number; l2?: number; beta?: number }
  | { type: 'sgd'; lr: number };

/**
 * One optimizer step's unique rows: row k in start..end-1 has its record at rowIndex[k]*stride of
 * data (dataI32 is the same buffer as int32 words) and its de-duplicated gradient at
 * grad[k*dim .. (k+1)*dim).
 */
export interface RowBatch {
  readonly data: Float32Array;
  readonly dataI32: Int32Array;
  readonly rowIndex: Int32Array;
  readonly start: number;
  readonly end: number;
  readonly grad: Float32Array;
  readonly dim: number;
  readonly stride: number;
}

export interface SparseOptimizer {
  /** The configuration with defaults filled in and the current learning rate. */
  readonly config: Required<SparseOptimizerConfig>;
  /** 4-byte words of optimizer state per row for a row of `dim` weights. */
  stateWords(dim: number): number;
  /**
   * Initialise the state of a freshly materialised row whose weights are already at
   * data[base .. base+dim); its state words start at base+dim.
   */
  initRowState(data: Float32Array, dataI32: Int32Array, base: number, dim: number): void;
  /** One optimizer step for each unique row of the batch (see RowBatch). */
  applyRows(batch: RowBatch): void;
  setLearningRate(lr: number): void;
}

/** Reads an optional hyper-parameter, applying its default and checking its range. */
export function hyper(
  value: number | undefined,
  fallback: number,
  name: string,
  ok: (v: number) => boolean,
  rangeText: string,
): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new UserError(`optimizer ${name} must be ${rangeText}, got ${String(value)}`);
  }
  return v;
}
