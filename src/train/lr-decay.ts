/**
 * Per-epoch learning-rate decay (train.lr_decay, issue 17): epoch e trains the dense parameters and
 * the embeddings at their configured rates times lr_decay^(e-1). The rate is a function of the
 * epoch alone, so a resumed run continues at its epoch's rate without saving anything more.
 * lr_decay 1 (the default) touches no optimizer: training is bit-identical to a run without it.
 */
import type { TrainConfig } from '../config/types.js';
import { sparseOptimizerConfig } from './step.js';

/** Something whose learning rate can be set: a dense optimizer, an embedding set, a table store. */
export interface LearningRateTarget {
  setLearningRate(lr: number): void;
}

/** The dense and embedding learning rates of epoch `epoch` (1-based). */
export function epochLearningRates(tc: TrainConfig, epoch: number): { dense: number; embedding: number } {
  const factor = (tc.lr_decay ?? 1) ** (epoch - 1);
  return { dense: tc.learning_rate * factor, embedding: sparseOptimizerConfig(tc).lr * factor };
}

/** Set epoch `epoch`'s rates on the dense optimizer and every embedding target; nothing when lr_decay is 1. */
export function applyEpochLearningRates(tc: TrainConfig, epoch: number, dense: LearningRateTarget, embeddings: LearningRateTarget[]): void {
  if ((tc.lr_decay ?? 1) === 1) return;
  const lr = epochLearningRates(tc, epoch);
  dense.setLearningRate(lr.dense);
  for (const e of embeddings) e.setLearningRate(lr.embedding);
}
