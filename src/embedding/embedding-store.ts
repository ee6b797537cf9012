/**
 * What the trainer, the model and checkpoints need of one embedding table, so that the in-process
 * EmbeddingTable (table.ts) and the shared-memory, row-sharded table of the data-parallel step
 * (shared/shared-table.ts) can stand in for each other. Both save in the same format
 * ('esmm.embedding-table/1'); loading is each implementation's own factory (EmbeddingTable.load,
 * SharedEmbeddingTable.load), and a saved table of either loads into either.
 */
import type { MultiIds } from '../data/batch.js';
import type { SparseOptimizerConfig } from './sparse-optimizer.js';
import type { SavedEmbeddingTable } from './table.js';

export interface EmbeddingStore {
  readonly name: string;
  readonly rows: number;
  readonly dim: number;
  /** The optimizer configuration with defaults filled in and the current learning rate. */
  readonly optimizerConfig: SparseOptimizerConfig;
  /** out[outOffset + i*outStride + d] = row(ids[i])[d]; untouched ids read their initial vector. */
  gather(ids: Int32Array, out: Float32Array, outStride: number, outOffset: number): void;
  /** Pooled multi-valued lookup (sum, or mean by the weights' sum). */
  gatherPooled(m: MultiIds, mode: 'sum' | 'mean', out: Float32Array, outStride: number, outOffset: number): void;
  /** Duplicate ids' gradients summed, then one optimizer step per touched row. */
  update(ids: Int32Array, grad: Float32Array, gradStride: number, gradOffset: number): void;
  /** The gradient scatter of gatherPooled, then one step per touched row. */
  updatePooled(m: MultiIds, mode: 'sum' | 'mean', grad: Float32Array, gradStride: number, gradOffset: number): void;
  setLearningRate(lr: number): void;
  /** Rows materialised so far. */
  allocatedRows(): number;
  /** Bytes held. */
  byteSize(): number;
  /** The whole table as a dense [rows x dim] array (export). */
  denseWeights(): Float32Array;
  save(): SavedEmbeddingTable;
}
