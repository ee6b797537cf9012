/**
 * The lines printed at the start of training that say how it will run: the effective optimizers
 * and rates (the embedding rate is not always learning_rate, issue 17) and the threads and
 * workers, with a hint when a many-core machine trains on one worker.
 */
import os from 'node:os';
import type { EsmmConfig } from '../config/types.js';
import { sparseOptimizerConfig } from '../train/step.js';

/** The effective optimizers and rates. */
export function describeOptimizers(config: EsmmConfig): string {
  const tc = config.train;
  const emb = sparseOptimizerConfig(tc);
  const how = tc.embedding_learning_rate !== undefined ? 'train.embedding_learning_rate' : emb.lr === tc.learning_rate ? 'train.learning_rate' : `${Number((emb.lr / tc.learning_rate).toPrecision(6))}x train.learning_rate`;
  const scaled = Object.entries(config.model.towers).filter(([, t]) => t.lr_scale !== undefined && t.lr_scale !== 1);
  const towers = scaled.length > 0 ? ` (${scaled.map(([n, t]) => `tower ${n} x${t.lr_scale}`).join(', ')})` : '';
  const decay = (tc.lr_decay ?? 1) !== 1 ? `; both x${tc.lr_decay} per epoch (train.lr_decay)` : '';
  const refit = tc.level_refit === true ? '; output biases refit to the objective after each epoch (train.level_refit)' : '';
  return `optimizers: dense ${tc.optimizer} lr ${tc.learning_rate}${towers}; embeddings ${emb.type} lr ${emb.lr} (${how})` +
    `${tc.embedding_l2 > 0 ? `, l2 ${tc.embedding_l2}${tc.embedding_l2_frequency ? ' frequency-aware' : ''}` : ''}${decay}${refit}`;
}

/** From this many cores on, one worker leaves most of them idle (README: 16 workers ran 2.1x one on 16 cores). */
const HINT_FROM_CORES = 4;

/**
 * Workers and ORT threads of the run. With one worker on a machine of HINT_FROM_CORES or more
 * cores, it says that train.workers would use them: the default stays 1 so a config trains the
 * same model on every machine, so the user has to choose it. No hint for what workers refuse
 * (train/parallel/unsupported.ts: GradNorm, ESCM2's self-normalised risks, a tower's lr_scale).
 */
export function describeCompute(config: EsmmConfig, cores = os.availableParallelism()): string {
  const tc = config.train;
  const workers = tc.workers ?? 1;
  const threads = tc.threads ?? cores;
  const line = `compute: ${workers} worker${workers > 1 ? 's' : ''}, ${threads} onnxruntime thread${threads > 1 ? 's' : ''}${workers > 1 ? ' split between them' : ''}`;
  const m = config.model;
  const refused = m.loss_weighting === 'gradnorm' || (m.name.startsWith('escm2') && m.escm2.self_normalize) || Object.values(m.towers).some((t) => t.lr_scale !== undefined && t.lr_scale !== 1);
  if (workers > 1 || cores < HINT_FROM_CORES || refused || tc.threads !== undefined) return line;
  return `${line}; this machine has ${cores} cores: --workers ${cores} (train.workers) splits each batch over ${cores} threads, usually faster, the same model up to float rounding`;
}
