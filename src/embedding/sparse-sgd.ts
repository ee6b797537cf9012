/** Plain SGD on touched rows: w -= lr * g. No state. */
import type { RowBatch, SparseOptimizer, SparseOptimizerConfig } from './sparse-optimizer.js';
import { RowOptimizerBase, subtractScaled } from './row-update.js';

type SgdConfig = Extract<SparseOptimizerConfig, { type: 'sgd' }>;

export class SparseSgd extends RowOptimizerBase<SgdConfig> implements SparseOptimizer {
  constructor(cfg: SgdConfig) {
    super({ type: 'sgd', lr: cfg.lr });
  }

  stateWords(): number {
    return 0;
  }

  initRowState(): void {
    // no state
  }

  applyRows({ data, rowIndex, start, end, grad, dim, stride }: RowBatch): void {
    const lr = this.config.lr;
    for (let k = start; k < end; k++) subtractScaled(data, rowIndex[k] * stride, grad, k * dim, dim, lr);
  }
}
