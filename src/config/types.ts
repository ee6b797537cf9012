import type { Schema } from '../data/schema.js';

/** Where the data comes from: files (paths relative to the config file) or the built-in simulator. */
export interface DataConfig {
  train?: string;
  valid?: string;
  test?: string;
  /** Force a format instead of inferring it from the extension. */
  format?: 'csv' | 'tsv' | 'jsonl' | 'parquet';
  /** Skip (and count) rows with bad labels, buy without click or bad numerics instead of failing. */
  skip_invalid?: boolean;
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
  type: 'embedding' | 'shared_bottom' | 'mmoe' | 'ple';
  /** shared_bottom: hidden sizes of the shared MLP. */
  hidden?: number[];
  /** mmoe/ple: number of (shared) experts and each expert's MLP sizes. */
  experts?: number;
  expert?: number[];
  /** ple: task-specific experts per task and number of extraction layers. */
  task_experts?: number;
  levels?: number;
}

export interface ModelConfig {
  name: string;
  embedding_dim: number;
  tower: number[];
  activation: ActivationName;
  dropout: number;
  bottom: BottomConfig;
  /** Loss weights by loss name (ctr, ctcvr, action...); missing ones default to 1. */
  loss_weights: Record<string, number>;
  loss_weighting: 'fixed' | 'uncertainty' | 'gradnorm';
  /** Pooling of multi-valued fields. */
  multi_valued_pooling: 'sum' | 'mean';
}

export interface TrainConfig {
  epochs: number;
  batch_size: number;
  learning_rate: number;
  /** Learning rate of the sparse (embedding) optimizer; defaults to learning_rate * 10 for adagrad. */
  embedding_learning_rate?: number;
  embedding_optimizer: 'adagrad' | 'adam' | 'ftrl' | 'sgd';
  optimizer: 'adam' | 'adamw' | 'sgd';
  weight_decay: number;
  clip_norm?: number;
  seed: number;
  /** Early stopping on a validation metric (higher is better for auc/gauc, lower for logloss). */
  early_stopping?: { metric: string; patience: number };
  checkpoint_every?: number;
  /** onnxruntime intra-op threads; default: the machine's cores. */
  threads?: number;
  /** Evaluate on validation every epoch (default true when a validation set exists). */
  validate?: boolean;
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
}
