import type { Schema } from '../data/schema.js';
import type { HoldoutConfig } from '../data/holdout.js';

/** Where the data comes from: files (paths relative to the config file) or the built-in simulator. */
export interface DataConfig {
  train?: string;
  valid?: string;
  test?: string;
  /** Force a format instead of inferring it from the extension. */
  format?: 'csv' | 'tsv' | 'jsonl' | 'parquet';
  /** Skip (and count) rows with bad labels, buy without click or bad numerics instead of failing. */
  skip_invalid?: boolean;
  /** false: the CSV/TSV file has no header row; its column names are `columns`. */
  header?: boolean;
  /** Column names, in file order, of a file without a header (with header: false). */
  columns?: string[];
  /**
   * Without a validation file, this slice of the training rows validates (early stopping): the
   * latest rows by time_column, else a seeded random slice. Default { fraction: 0.1, seed: 1 };
   * fraction 0 turns it off.
   */
  holdout?: HoldoutConfig;
  /** Generate the data with the ground-truth funnel simulator (built-in configs). */
  synth?: { rows?: number; seed?: number; [k: string]: unknown };
}

export interface FeaturesConfig {
  min_count?: number;
  hash_buckets?: number;
  numeric_transform?: 'standardize_tanh' | 'quantile';
  quantile_buckets?: number;
  fields?: Record<string, { min_count?: number; hash_buckets?: number; transform?: 'standardize_tanh' | 'quantile'; buckets?: number }>;
}

export type ActivationName = 'relu' | 'tanh' | 'sigmoid';

export interface BottomConfig {
  /** A key of BOTTOMS (models/bottoms/index.ts), checked when the config is loaded. */
  type: string;
  /** shared_bottom: hidden sizes of the shared MLP. */
  hidden?: number[];
  /** mmoe/ple: number of (shared) experts and each expert's MLP sizes. */
  experts?: number;
  expert?: number[];
  /** ple: task-specific experts per task and number of extraction layers. */
  task_experts?: number;
  levels?: number;
  /** dcn: number of DCN-v2 cross layers (default 2). */
  cross_layers?: number;
}

/** An explicit user x item inner-product term added to a tower's logit (blocks/inner-product.ts). */
export interface InnerProductSides {
  user: string[];
  item: string[];
}

/** One tower's settings (`model.towers.NAME`); unset keys fall back to model.tower/activation/dropout. */
export interface TowerConfig {
  /** A key of TOWERS (models/towers/index.ts), checked when the config is loaded. */
  type: string;
  sizes?: number[];
  activation?: ActivationName;
  dropout?: number;
  /** Normalisation after each hidden layer's linear map (layer norm works for any batch size). */
  norm?: 'none' | 'layer';
  /** dcn towers: number of cross layers (default 2). */
  cross_layers?: number;
  /** Add <u W_u, v W_v> over these user and item field slots to the tower's logit. */
  inner_product?: InnerProductSides;
  /**
   * This tower learns at lr_scale times the rate: the dense optimizer's step for its parameters
   * (layers, head, inner-product and AITM transfer weights) and the gradient it sends into the
   * shared bottom and embeddings are both multiplied by it. Default 1.
   */
  lr_scale?: number;
}

/** How a multi-valued field is pooled: sum/mean in the embedding gather, or DIN-style target attention. */
export type FieldPooling =
  | { type: 'sum' | 'mean' }
  /** max_len: the most recent (last) max_len items of a row are kept (default ATTENTION_MAX_LEN). */
  | { type: 'attention'; target: string; max_len?: number };

/** Default sequence length of attention pooling (`model.pooling.FIELD.max_len`). */
export const ATTENTION_MAX_LEN = 20;

/** AITM (Xi et al., KDD'21) options. */
export interface AitmConfig {
  /** Weight of the behavioural expectation calibrator. */
  alpha: number;
  /** Width of the AIT projections h1, h2, h3 (default: the tower's last hidden width). */
  transfer_dim?: number;
}

/** ESCM2 (Wang et al., SIGIR'22) options. */
export interface Escm2Config {
  /** Propensity pCTR is clipped to [propensity_floor, propensity_clip] before dividing by it. */
  propensity_floor: number;
  propensity_clip: number;
  /**
   * true: self-normalised risks (SNIPS; the batch's sum of o_i / p_i divides instead of the batch
   * size), whose scale does not move with how well pCTR is calibrated.
   */
  self_normalize: boolean;
}

/** GradNorm (Chen et al., ICML'18): asymmetry alpha and the learning rate of the loss weights. */
export interface GradNormConfig {
  alpha: number;
  lr: number;
}

export interface ModelConfig {
  /** A key of MODELS (models/registry.ts), checked when the config is loaded. */
  name: string;
  embedding_dim: number;
  tower: number[];
  activation: ActivationName;
  dropout: number;
  bottom: BottomConfig;
  /** Loss weights by loss name (ctr, ctcvr, action...); missing ones default to 1. */
  loss_weights: Record<string, number>;
  loss_weighting: 'fixed' | 'uncertainty' | 'gradnorm';
  /** GradNorm settings (loss_weighting: gradnorm); absent: DEFAULT_GRADNORM. */
  gradnorm?: GradNormConfig;
  /** Pooling of multi-valued fields. */
  multi_valued_pooling: 'sum' | 'mean';
  /** Per-tower settings by tower name (ctr, cvr, stage2_apply, ...). */
  towers: Record<string, TowerConfig>;
  /** Field-wise pooling (ESMM paper, Fig. 2): a group's field embeddings are summed before the towers. */
  field_groups: Record<string, string[]>;
  /** Per-field pooling of multi-valued fields (overrides multi_valued_pooling for that field). */
  pooling: Record<string, FieldPooling>;
  aitm: AitmConfig;
  escm2: Escm2Config;
  /** Inner-product term for every tower without its own `towers.NAME.inner_product`. */
  inner_product?: InnerProductSides;
  /** 'prior': pCTR and pCVR towers' output biases (ESM2's y2, y3, y4 too) start at the training rates' log-odds (train/prior-bias.ts); 'zero': at 0. */
  output_bias_init: 'prior' | 'zero';
}

/**
 * train.early_stopping. With `fallback_metric`, a validation split holding fewer than
 * `min_conversions` conversions (buy = 1) is judged on `fallback_metric` instead of `metric`
 * (a click-space loss over a dozen conversions is noise); see train/early-stopping.ts.
 */
export interface EarlyStoppingConfig {
  metric: string;
  patience: number;
  fallback_metric?: string;
  min_conversions?: number;
}

export interface TrainConfig {
  epochs: number;
  batch_size: number;
  learning_rate: number;
  /** Learning rate of the sparse (embedding) optimizer; defaults to learning_rate * 10 for adagrad. */
  embedding_learning_rate?: number;
  /**
   * After each epoch the dense and the embedding learning rate are multiplied by this (epoch e
   * trains at rate x lr_decay^(e-1)); in (0, 1], default 1 (no decay). See train/lr-decay.ts.
   */
  lr_decay?: number;
  /**
   * After each epoch, move the CTR and CVR towers' output biases to the optimum of the model's own
   * objective over the training rows (train/level-refit.ts): esmm, escm2_ipw, escm2_dr with fixed
   * loss weights, rows in memory. Default off.
   */
  level_refit?: boolean;
  embedding_optimizer: 'adagrad' | 'adam' | 'ftrl' | 'sgd';
  /** L2 penalty on the embedding rows a batch touches (lazy weight decay, any embedding optimizer). */
  embedding_l2: number;
  /** Divide each row's penalty by its occurrence count so far (DIN's mini-batch aware regularisation). */
  embedding_l2_frequency: boolean;
  optimizer: 'adam' | 'adamw' | 'sgd';
  weight_decay: number;
  clip_norm?: number;
  seed: number;
  /**
   * Shuffle the training rows every epoch (default true, seeded by `seed`). false: every epoch
   * trains the rows in their stored order (time-ordered logs, curricula, reproducing a run across
   * tools); store workers then cut their partitions in order too (docs/distributed.md), and
   * streaming reads blocks in file order without a shuffle window.
   */
  shuffle?: boolean;
  /** Early stopping on a validation metric (higher is better for auc/gauc, lower for logloss). */
  early_stopping?: EarlyStoppingConfig;
  checkpoint_every?: number;
  /** onnxruntime intra-op threads; default: the machine's cores. */
  threads?: number;
  /**
   * Data-parallel worker threads (train/parallel): each batch is split between N ORT sessions and
   * the gradients merged, so N trains the same model as 1 within float tolerance. Default 1.
   */
  workers?: number;
  /** Evaluate on validation every epoch (default true when a validation set exists). */
  validate?: boolean;
  /**
   * Post-hoc calibration fitted on the validation split after training, over every impression:
   * pCTR on click, then pCVR on buy through pCTR' x pCVR' (monotone: pCVR AUC unchanged);
   * pCTCVR = pCTR' x pCVR' (models/calibration/apply.ts). Default 'auto': platt when the
   * validation split holds at least AUTO_CALIBRATION_MIN_BUYS buys, else none (api/calibrate-model.ts).
   */
  calibration?: 'none' | 'auto' | 'platt' | 'isotonic';
  /** Degenerate-run symptoms (loss spikes, pinned or constant outputs, AUC 0.5) are errors, not warnings. */
  strict?: boolean;
  /**
   * Stream the training files in bounded memory instead of loading every row (src/api/stream-pipeline.ts).
   * Unset: stream when memory_budget is set and the data would need more than that in memory.
   */
  streaming?: boolean;
  /** Bytes of training data held at once when streaming (config: '2GB', '512MB' or a number of bytes). */
  memory_budget?: number;
}

export interface EsmmConfig {
  data: DataConfig;
  schema: Schema;
  features: FeaturesConfig;
  model: ModelConfig;
  train: TrainConfig;
  /** Directory the config file lives in; data paths are resolved against it. */
  baseDir: string;
  /** Where the config came from (a path or `builtin:NAME`), for messages. */
  source: string;
  /**
   * The dataset preset the data files were read with (`schema: { preset: NAME }` or --preset):
   * files given to the saved model (predict, eval, report) go through the same preset.
   */
  preset?: string;
}
