import type { FlatMetrics } from '../eval/evaluate.js';

/** What one finished epoch reports (history.json, onEpoch); checkpoints carry the history so far. */
export interface EpochRecord {
  epoch: number;
  steps: number;
  seconds: number;
  samplesPerSecond: number;
  /** Mean training loss per loss name over the epoch (+ `loss`, the weighted total). */
  train: Record<string, number>;
  valid?: FlatMetrics;
  /** train.level_refit: the logit shifts the epoch's end added to the CTR and CVR output biases. */
  level_shift?: { ctr: number; cvr: number };
}
