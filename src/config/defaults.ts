import type { GradNormConfig, ModelConfig, TrainConfig } from './types.js';

/** Defaults follow the ESMM paper (embedding dim 18, MLP 360x200x80, Adam) where it says. */
export const DEFAULT_MODEL: ModelConfig = {
  name: 'esmm',
  embedding_dim: 18,
  tower: [360, 200, 80],
  activation: 'relu',
  dropout: 0,
  bottom: { type: 'embedding' },
  loss_weights: {},
  loss_weighting: 'fixed',
  multi_valued_pooling: 'sum',
  towers: {},
  field_groups: {},
  pooling: {},
  aitm: { alpha: 0.6 },
  escm2: { propensity_floor: 0.01, propensity_clip: 1, self_normalize: true },
  output_bias_init: 'prior',
};

/**
 * Loss weights that are not 1 unless model.loss_weights says otherwise. ESCM2's counterfactual
 * risks (lambda in the paper) at 0.3: at weight 1 the 1 / pCTR-weighted risk outweighs the CTCVR
 * loss and pulls mean pCVR on clicked rows 20% under the observed rate after two epochs; 0.3 and
 * 0.1 gave 0.86 and 0.89 of it (issue 17, bench/escm2-convergence.ts).
 */
export const DEFAULT_LOSS_WEIGHTS: Record<string, number> = { cvr_ipw: 0.3, cvr_dr: 0.3 };

/** GradNorm defaults (the paper's alpha 1.5 is its usual setting for imbalanced tasks). */
export const DEFAULT_GRADNORM: GradNormConfig = { alpha: 1.5, lr: 0.025 };

export const DEFAULT_TRAIN: TrainConfig = {
  epochs: 1,
  batch_size: 2048,
  learning_rate: 0.001,
  embedding_optimizer: 'adagrad',
  embedding_l2: 0,
  embedding_l2_frequency: false,
  optimizer: 'adam',
  weight_decay: 0,
  seed: 1,
  // On by default (issue 13): validation (a file, or data.holdout of the training rows) picks the
  // epoch, and its weights are kept. `early_stopping: false` turns it off.
  early_stopping: { metric: 'logloss_ctcvr', patience: 1 },
};
