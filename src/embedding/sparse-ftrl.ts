/**
 * Per-coordinate FTRL-proximal (McMahan et al. 2013), alpha = lr:
 *   n' = n + g^2;  sigma = (sqrt(n') - sqrt(n)) / alpha;  z += g - sigma * w;  n = n'
 *   w = 0 if |z| <= l1, else -(z - sign(z) * l1) / ((beta + sqrt(n)) / alpha + l2)
 * State per row: z (dim floats), n (dim floats).
 *
 * Embeddings need a random start (all-zero rows never break symmetry), so a new row's z is set so
 * that the closed form above returns its initial weights when l1 = 0: z0 = -w0 * (beta/alpha + l2).
 * With l1 > 0 the first update then shrinks the initial weights by l1 (to exactly 0 when
 * |z| <= l1), which is what the l1 penalty is for. As in any FTRL, changing alpha later changes
 * what the closed form returns for existing rows.
 */
import type { RowBatch, SparseOptimizer, SparseOptimizerConfig } from './sparse-optimizer.js';
import { RowOptimizerBase } from './row-update.js';
import { hyper } from './sparse-optimizer.js';

type FtrlConfig = Extract<SparseOptimizerConfig, { type: 'ftrl' }>;

export class SparseFtrl extends RowOptimizerBase<FtrlConfig> implements SparseOptimizer {
  constructor(cfg: FtrlConfig) {
    super({
      type: 'ftrl',
      lr: cfg.lr,
      l1: hyper(cfg.l1, 0, 'l1', (v) => v >= 0, '>= 0'),
      l2: hyper(cfg.l2, 0, 'l2', (v) => v >= 0, '>= 0'),
      beta: hyper(cfg.beta, 1, 'beta', (v) => v >= 0, '>= 0'),
    });
  }

  stateWords(dim: number): number {
    return 2 * dim;
  }

  initRowState(data: Float32Array, _dataI32: Int32Array, base: number, dim: number): void {
    const { lr, l2, beta } = this.config;
    const denom = lr > 0 ? beta / lr + l2 : 0;
    for (let d = 0; d < dim; d++) {
      data[base + dim + d] = -data[base + d] * denom;
      data[base + 2 * dim + d] = 0;
    }
  }

  applyRows({ data, rowIndex, start, end, grad, dim, stride }: RowBatch): void {
    const { lr, l1, l2, beta } = this.config;
    if (lr === 0) return; // alpha = 0 freezes FTRL (sigma would divide by zero)
    const invAlpha = 1 / lr;
    for (let k = start; k < end; k++) {
      const b = rowIndex[k] * stride;
      const zb = b + dim;
      const nb = b + 2 * dim;
      const a = k * dim;
      for (let d = 0; d < dim; d++) {
        const g = grad[a + d];
        const n = data[nb + d];
        const nNew = n + g * g;
        const sqrtNew = Math.sqrt(nNew);
        const z = data[zb + d] + g - (sqrtNew - Math.sqrt(n)) * invAlpha * data[b + d];
        data[zb + d] = z;
        data[nb + d] = nNew;
        const absZ = z < 0 ? -z : z;
        data[b + d] = absZ <= l1 ? 0 : -(z - (z < 0 ? -l1 : l1)) / ((beta + sqrtNew) * invAlpha + l2);
      }
    }
  }
}
