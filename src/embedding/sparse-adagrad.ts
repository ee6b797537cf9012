/**
 * Row-wise Adagrad (as FBGEMM's rowwise_adagrad): one accumulator per row,
 *   acc += mean_d(g_d^2);   w_d -= lr * g_d / (sqrt(acc) + eps).
 * One float of state per row keeps a 2M x 18 table within 1.5x its raw weight bytes.
 */
import type { RowBatch, SparseOptimizer, SparseOptimizerConfig } from './sparse-optimizer.js';
import { RowOptimizerBase, subtractScaled } from './row-update.js';
import { hyper } from './sparse-optimizer.js';

type AdagradConfig = Extract<SparseOptimizerConfig, { type: 'adagrad' }>;

export class SparseAdagrad extends RowOptimizerBase<AdagradConfig> implements SparseOptimizer {
  constructor(cfg: AdagradConfig) {
    super({
      type: 'adagrad',
      lr: cfg.lr,
      initialAccumulator: hyper(cfg.initialAccumulator, 0, 'initialAccumulator', (v) => v >= 0, '>= 0'),
      eps: hyper(cfg.eps, 1e-8, 'eps', (v) => v > 0, '> 0'),
    });
  }

  stateWords(): number {
    return 1;
  }

  initRowState(data: Float32Array, _dataI32: Int32Array, base: number, dim: number): void {
    data[base + dim] = this.config.initialAccumulator;
  }

  applyRows({ data, rowIndex, start, end, grad, dim, stride }: RowBatch): void {
    const { lr, eps } = this.config;
    const invDim = 1 / dim;
    for (let k = start; k < end; k++) {
      const b = rowIndex[k] * stride;
      const a = k * dim;
      let sq = 0;
      for (let d = 0; d < dim; d++) {
        const g = grad[a + d];
        sq += g * g;
      }
      const acc = data[b + dim] + sq * invDim;
      data[b + dim] = acc;
      // Use the float32-rounded accumulator, as a float32 reference implementation would.
      subtractScaled(data, b, grad, a, dim, lr / (Math.sqrt(data[b + dim]) + eps));
    }
  }
}
