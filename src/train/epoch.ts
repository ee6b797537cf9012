import { UserError } from '../errors.js';
import type { EpochRecord } from './epoch-record.js';
import type { TrainProgress } from './progress.js';
import type { TrainingRun } from './training-run.js';

/** What the step loop reports to and asks of its caller (a subset of TrainOptions). */
export interface StepHooks {
  onProgress?: (p: TrainProgress) => void;
  /** Polled after every step; true checkpoints and stops the run. */
  shouldStop?: () => boolean;
  /** Stop after this many steps in total. */
  maxSteps?: number;
}

/** How an epoch's steps ended: all batches done, a stop request, or the step limit mid-epoch. */
export type EpochEnd = 'complete' | 'interrupted' | 'step-limit';

export function stepLimitReached(run: TrainingRun, maxSteps: number | undefined): boolean {
  return maxSteps !== undefined && run.pos.globalStep >= maxSteps;
}

/**
 * The steps of epoch `run.pos.epoch` from batch `run.pos.batchInEpoch` on: the epoch's shuffle
 * (regenerated from its saved RNG state, so a resumed run sees the same order; none with
 * train.shuffle false), one TrainStep per
 * batch, loss sums, progress, and the every-N-steps checkpoints (`checkpoint`).
 */
export async function runEpochSteps(run: TrainingRun, hooks: StepHooks, checkpoint: () => Promise<void>): Promise<EpochEnd> {
  const { pos, step, train, order, batchSize, stepsPerEpoch, shuffleRng } = run;
  const tc = run.config.train;
  const epoch = pos.epoch;
  shuffleRng.setState(pos.epochShuffleState);
  for (let i = 0; i < order.length; i++) order[i] = i;
  // train.shuffle: false trains the rows in their stored order (the RNG is then never drawn from).
  if (tc.shuffle !== false) shuffleRng.shuffle(order);
  const t0 = performance.now() - pos.epochSeconds * 1000;
  let lastReport = performance.now();
  for (let b = pos.batchInEpoch; b < stepsPerEpoch; b++) {
    const start = b * batchSize;
    const end = Math.min(train.rows, start + batchSize);
    const batch = run.assembler.assemble(start, end, order);
    const losses = await step.run(batch);
    const loss = losses.loss!;
    await checkStepLoss(run, loss);
    pos.globalStep++;
    pos.batchInEpoch = b + 1;
    await recordStepLoss(run, loss, losses);
    const now = performance.now();
    pos.epochSeconds = (now - t0) / 1000;
    if (hooks.onProgress !== undefined && (now - lastReport > 1000 || end === train.rows)) {
      lastReport = now;
      hooks.onProgress({ epoch, epochs: tc.epochs, step: b + 1, stepsPerEpoch, samplesPerSecond: end / Math.max(1e-9, pos.epochSeconds), losses: means(pos.sums, b + 1) });
    }
    const lastOfEpoch = b + 1 === stepsPerEpoch;
    if (hooks.shouldStop?.() === true) {
      await checkpoint();
      return 'interrupted';
    }
    if (!lastOfEpoch && tc.checkpoint_every !== undefined && pos.globalStep % tc.checkpoint_every === 0) await checkpoint();
    if (stepLimitReached(run, hooks.maxSteps)) break;
  }
  return pos.batchInEpoch < stepsPerEpoch ? 'step-limit' : 'complete';
}

/** The record of the epoch whose steps just completed (validation metrics are added by the caller). */
export function epochRecord(run: TrainingRun): EpochRecord {
  const { pos, stepsPerEpoch, train } = run;
  return { epoch: pos.epoch, steps: stepsPerEpoch, seconds: pos.epochSeconds, samplesPerSecond: train.rows / pos.epochSeconds, train: means(pos.sums, stepsPerEpoch) };
}

/** After an epoch: the position of the next one, then (unless the run stops here) an epoch-end checkpoint. */
export async function finishEpoch(run: TrainingRun, stop: boolean, checkpoint: () => Promise<void>): Promise<void> {
  const { pos } = run;
  const epoch = pos.epoch;
  pos.batchInEpoch = 0;
  pos.sums = {};
  pos.epochSeconds = 0;
  pos.epochShuffleState = run.shuffleRng.getState();
  if (epoch < run.config.train.epochs && !stop) {
    pos.epoch = epoch + 1;
    await checkpoint();
    pos.epoch = epoch; // the caller's epoch loop increments it
  }
}

function means(sums: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)]));
}

/** A non-finite step loss stops training naming the step (before the position moves on). */
export async function checkStepLoss(run: TrainingRun, loss: number): Promise<void> {
  if (Number.isFinite(loss)) return;
  await run.step.release();
  throw new UserError(`training diverged: loss is ${loss} at step ${run.pos.globalStep + 1} (epoch ${run.pos.epoch}); lower train.learning_rate or set train.clip_norm`);
}

/**
 * A finished step's losses into the loop position (per-step loss, epoch sums) and the
 * degenerate-run guard; with train.strict a symptom stops training here.
 */
export async function recordStepLoss(run: TrainingRun, loss: number, losses: Record<string, number>): Promise<void> {
  const { pos } = run;
  pos.stepLoss.push(loss);
  const watched = run.spikes.taskLoss(loss, losses);
  (pos.guardLoss ??= []).push(watched);
  run.spikes.observe(pos.globalStep, watched);
  if (run.config.train.strict === true) {
    const w = run.spikes.warnings()[0];
    if (w !== undefined) {
      await run.step.release();
      throw new UserError(`degenerate run (${w.symptom}): ${w.message}`, { key: 'train.strict' });
    }
  }
  for (const [k, v] of Object.entries(losses)) pos.sums[k] = (pos.sums[k] ?? 0) + v;
}
