/**
 * Lazy Adam: only touched rows have their moments decayed and updated. Bias correction uses a
 * per-row step count (how many updates this row has had), not the global step: a rare row's first
 * update is then a normal Adam first step (~lr * sign(g)) instead of the oversized step that
 * global-step bias correction gives a row whose moments are still near zero.
 * State per row: m (dim floats), v (dim floats), t (one int32). Cost: (3*dim + 2) words per row,
 * about 3.1x the raw weights at dim 18.
 */
import type { RowBatch, SparseOptimizer, SparseOptimizerConfig } from './sparse-optimizer.js';
import { RowOptimizerBase } from './row-update.js';
import { hyper } from './sparse-optimizer.js';

type AdamConfig = Extract<SparseOptimizerConfig, { type: 'adam' }>;

export class SparseAdam extends RowOptimizerBase<AdamConfig> implements SparseOptimizer {
  constructor(cfg: AdamConfig) {
    super({
      type: 'adam',
      lr: cfg.lr,
      beta1: hyper(cfg.beta1, 0.9, 'beta1', (v) => v >= 0 && v < 1, 'in [0, 1)'),
      beta2: hyper(cfg.beta2, 0.999, 'beta2', (v) => v >= 0 && v < 1, 'in [0, 1)'),
      eps: hyper(cfg.eps, 1e-8, 'eps', (v) => v > 0, '> 0'),
    });
  }

  stateWords(dim: number): number {
    return 2 * dim + 1;
  }

  initRowState(data: Float32Array, dataI32: Int32Array, base: number, dim: number): void {
    data.fill(0, base + dim, base + 3 * dim);
    dataI32[base + 3 * dim] = 0;
  }

  applyRows({ data, dataI32, rowIndex, start, end, grad, dim, stride }: RowBatch): void {
    const { lr, beta1, beta2, eps } = this.config;
    const oneMinusB1 = 1 - beta1;
    const oneMinusB2 = 1 - beta2;
    for (let k = start; k < end; k++) {
      const b = rowIndex[k] * stride;
      const mb = b + dim;
      const vb = b + 2 * dim;
      const t = dataI32[b + 3 * dim] + 1;
      dataI32[b + 3 * dim] = t;
      const stepSize = lr / (1 - Math.pow(beta1, t));
      const invSqrtBc2 = 1 / Math.sqrt(1 - Math.pow(beta2, t));
      const a = k * dim;
      for (let d = 0; d < dim; d++) {
        const g = grad[a + d];
        const m = beta1 * data[mb + d] + oneMinusB1 * g;
        const v = beta2 * data[vb + d] + oneMinusB2 * g * g;
        data[mb + d] = m;
        data[vb + d] = v;
        data[b + d] -= (stepSize * m) / (Math.sqrt(v) * invSqrtBc2 + eps);
      }
    }
  }
}
