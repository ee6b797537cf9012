/**
 * What the four sparse optimizers share: the config and learning-rate plumbing, and the plain
 * scaled-gradient step. Each optimizer keeps its own row loop over a RowBatch (so every loop stays
 * monomorphic, with no call per element).
 */
import type { SparseOptimizerConfig } from './sparse-optimizer.js';

/** The config (defaults filled in) and setLearningRate, the same for every optimizer. */
export abstract class RowOptimizerBase<C extends SparseOptimizerConfig> {
  constructor(readonly config: Required<C>) {}

  setLearningRate(lr: number): void {
    this.config.lr = lr;
  }
}

/** data[b + d] -= scale * grad[a + d] for d in 0..dim-1: SGD's step, and Adagrad's with its row scale. */
export function subtractScaled(data: Float32Array, b: number, grad: Float32Array, a: number, dim: number, scale: number): void {
  for (let d = 0; d < dim; d++) data[b + d] -= scale * grad[a + d];
}
