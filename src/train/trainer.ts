import type { EncodedChunk } from '../data/batch.js';
import type { EsmmConfig } from '../config/types.js';
import type { FeatureSpec } from '../features/spec.js';
import { UserError } from '../errors.js';
import type { FunnelModel } from '../models/model.js';
import { earlyStop } from './early-stopping.js';
import { applyEpochLearningRates } from './lr-decay.js';
import { epochRecord, finishEpoch, runEpochSteps, stepLimitReached } from './epoch.js';
import type { EpochRecord } from './epoch-record.js';
import type { TrainProgress } from './progress.js';
import { resumeRun, saveRunCheckpoint } from './resume.js';
import { restoreSnapshot } from './snapshot.js';
import { startRun, type TrainingRun } from './training-run.js';
import { validateEpoch } from './validation.js';
import { refitLevels } from './level-refit.js';
import type { RunWarning } from './guard.js';

export interface TrainResult {
  model: FunnelModel;
  history: EpochRecord[];
  /** Training loss per step (weighted total), for loss curves. */
  stepLoss: number[];
  /** The epoch early stopping judged best on validation; undefined when nothing was judged. */
  bestEpoch: number | undefined;
  /** The epoch whose weights the returned model holds (the best one when early stopping ran). */
  keptEpoch: number;
  /** Degenerate-run symptoms seen while training (loss spikes); see guard.ts. */
  warnings: RunWarning[];
  stoppedEarly: boolean;
  /** True when a stop was requested (SIGINT) and the run ended early after a checkpoint. */
  interrupted: boolean;
  /** The step a resumed run started from (0 for a fresh run). */
  resumedFromStep: number;
}

export interface TrainOptions {
  onProgress?: (p: TrainProgress) => void;
  /**
   * After each validated epoch, before early stopping acts; gets the model as it is at the end of
   * that epoch (bench/quality.ts scores every epoch of one run on the test split). Awaited.
   */
  onEpoch?: (r: EpochRecord, model: FunnelModel) => void | Promise<void>;
  /** Stop after this many steps in total (tests, benchmarks). */
  maxSteps?: number;
  /** Write checkpoints into this directory (every train.checkpoint_every steps and each epoch end). */
  checkpointDir?: string;
  /** Continue from the checkpoint in checkpointDir. */
  resume?: boolean;
  /** Polled after every step; when it returns true the run checkpoints and stops (SIGINT). */
  shouldStop?: () => boolean;
  /** Fingerprint of the data, so a checkpoint is never resumed on other rows. */
  dataFingerprint?: string;
}

/**
 * Train a funnel model on encoded data: shuffled mini-batches (seeded), one ORT run per step for
 * forward + backward, dense optimizer on parameters, sparse row-wise updates on the touched
 * embedding rows; validation and early stopping each epoch, keeping the best epoch's weights.
 * With a checkpoint dir it can be killed at any point and resumed to the same final weights.
 *
 * The seams: training-run.ts (set-up), resume.ts (checkpoint in and out), epoch.ts (the steps of
 * an epoch), validation.ts, early-stopping.ts.
 */
export async function trainFunnel(config: EsmmConfig, features: FeatureSpec, train: EncodedChunk, valid: EncodedChunk | undefined, opts: TrainOptions = {}): Promise<TrainResult> {
  if (train.rows === 0) throw new UserError('the training set has no rows');
  const run = await startRun(config, features, train, opts.dataFingerprint ?? '');
  if (opts.resume === true) resumeRun(run, opts.checkpointDir);
  const resumedFromStep = run.pos.globalStep;
  const dir = opts.checkpointDir;
  const checkpoint = async (): Promise<void> => {
    if (dir !== undefined) await saveRunCheckpoint(run, dir);
  };
  const tc = config.train;
  let stoppedEarly = false;
  let interrupted = false;
  for (; run.pos.epoch <= tc.epochs; run.pos.epoch++) {
    applyEpochLearningRates(tc, run.pos.epoch, run.step.optimizer, [run.embeddings]);
    const end = await runEpochSteps(run, opts, checkpoint);
    if (end === 'interrupted') interrupted = true;
    if (end !== 'complete') break;
    const shift = tc.level_refit === true ? await refitLevels(run.model, run.train) : undefined;
    const record = epochRecord(run);
    if (shift !== undefined) record.level_shift = shift;
    const validMetrics = await validateEpoch(run.model, valid, tc);
    if (validMetrics !== undefined) record.valid = validMetrics;
    run.pos.history.push(record);
    await opts.onEpoch?.(record, run.model);
    const stop = earlyStop(run, record);
    if (stop) stoppedEarly = record.epoch < tc.epochs;
    await finishEpoch(run, stop, checkpoint);
    if (stop || stepLimitReached(run, opts.maxSteps)) break;
  }
  await run.step.release();
  return finishRun(run, { stoppedEarly, interrupted, resumedFromStep });
}

/** The result of a finished run: the best epoch's weights restored (early stopping), the history and the guard's warnings. */
export function finishRun(run: TrainingRun, end: { stoppedEarly: boolean; interrupted: boolean; resumedFromStep: number }): TrainResult {
  const { pos, best, model } = run;
  if (best !== undefined && pos.best !== null && pos.best.epoch !== pos.history.length) restoreSnapshot(model, best);
  return {
    model, history: pos.history, stepLoss: pos.stepLoss, bestEpoch: pos.best?.epoch, keptEpoch: pos.best?.epoch ?? pos.history.length, ...end,
    warnings: run.spikes.warnings(),
  };
}
