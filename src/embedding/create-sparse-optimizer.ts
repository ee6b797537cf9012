/**
 * The sparse-optimizer factory, apart from the interface (sparse-optimizer.ts) so that the four
 * implementations import the interface without the interface importing them back.
 */
import { UserError } from '../errors.js';
import type { SparseOptimizer, SparseOptimizerConfig } from './sparse-optimizer.js';
import { SparseAdagrad } from './sparse-adagrad.js';
import { SparseAdam } from './sparse-adam.js';
import { SparseFtrl } from './sparse-ftrl.js';
import { SparseSgd } from './sparse-sgd.js';

export const DEFAULT_SPARSE_OPTIMIZER: SparseOptimizerConfig = { type: 'adagrad', lr: 0.05 };

export function createSparseOptimizer(cfg: SparseOptimizerConfig): SparseOptimizer {
  checkLearningRate(cfg.lr);
  switch (cfg.type) {
    case 'adagrad':
      return new SparseAdagrad(cfg);
    case 'adam':
      return new SparseAdam(cfg);
    case 'ftrl':
      return new SparseFtrl(cfg);
    case 'sgd':
      return new SparseSgd(cfg);
    default: {
      // Config may come from YAML: report an unknown type as the user's mistake.
      const type = (cfg as { type: unknown }).type;
      throw new UserError(`unknown sparse optimizer type ${JSON.stringify(type)} (expected adagrad, adam, ftrl or sgd)`);
    }
  }
}

export function checkLearningRate(lr: number): void {
  if (!(Number.isFinite(lr) && lr >= 0)) throw new UserError(`learning rate must be a finite number >= 0, got ${lr}`);
}
