/** Plain SGD on touched rows: w -= lr * g. No state. */
import type { SparseOptimizer, SparseOptimizerConfig } from './sparse-optimizer.js';

type SgdConfig = Extract<SparseOptimizerConfig, { type: 'sgd' }>;

export class SparseSgd implements SparseOptimizer {
  readonly config: Required<SgdConfig>;

  constructor(cfg: SgdConfig) {
    this.config = { type: 'sgd', lr: cfg.lr };
  }

  stateWords(): number {
    return 0;
  }

  initRowState(): void {
    // no state
  }

  applyRows(
    data: Float32Array,
    _dataI32: Int32Array,
    rowIndex: Int32Array,
    start: number,
    end: number,
    grad: Float32Array,
    dim: number,
    stride: number,
  ): void {
    const lr = this.config.lr;
    for (let k = start; k < end; k++) {
      const b = rowIndex[k] * stride;
      const a = k * dim;
      for (let d = 0; d < dim; d++) data[b + d] -= lr * grad[a + d];
    }
  }

  setLearningRate(lr: number): void {
    this.config.lr = lr;
  }
}
