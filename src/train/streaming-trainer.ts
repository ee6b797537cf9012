/**
 * trainFunnel for data larger than memory: the same run set-up, checkpoints, validation, early
 * stopping and best-epoch restore (trainer.ts), but the batches of an epoch come from a TrainStream
 * (src/data/train-stream.ts) one shuffle window at a time instead of from one EncodedChunk.
 *
 * Resume: the epoch's windows are re-planned from the checkpoint's shuffle state (the same order),
 * windows wholly before the saved batch are skipped without being read (with data.skip_invalid
 * their kept rows are counted, not encoded), and the window holding it is re-read and its first
 * batches skipped. So a resumed run trains on exactly the batches the uninterrupted run would.
 */
import { BatchAssembler } from '../data/batch-assembler.js';
import type { EncodedChunk, LabelKey } from '../data/batch.js';
import type { EsmmConfig } from '../config/types.js';
import type { FeatureSpec } from '../features/spec.js';
import { newTimings, type StreamTimings, type TrainStream } from '../data/train-stream.js';
import { UserError } from '../errors.js';
import { Rng } from '../util/random.js';
import { earlyStop } from './early-stopping.js';
import { checkStepLoss, finishEpoch, recordStepLoss, stepLimitReached, type EpochEnd, type StepHooks } from './epoch.js';
import type { EpochRecord } from './epoch-record.js';
import { resumeRun, saveRunCheckpoint } from './resume.js';
import { startRun, type TrainingRun } from './training-run.js';
import { finishRun, type TrainOptions, type TrainResult } from './trainer.js';
import { validateEpoch } from './validation.js';
import { applyEpochLearningRates } from './lr-decay.js';

export interface StreamTrainOptions extends TrainOptions {
  /** Filled with where the time went and the most rows held (bench/scale.ts, tests). */
  timings?: StreamTimings;
  /** Called with each window's encoded rows before it is trained on (tests count row ids with it). */
  onWindow?: (chunk: EncodedChunk, order: Int32Array) => void;
  /** The stream's first train.batch_size rows, encoded (stream.sample), when the caller has them already. */
  template?: EncodedChunk;
}

export async function trainFunnelStreaming(config: EsmmConfig, features: FeatureSpec, stream: TrainStream, valid: EncodedChunk | undefined, opts: StreamTrainOptions = {}): Promise<TrainResult> {
  const tc = config.train;
  const timings = opts.timings ?? newTimings();
  // The run is set up on the first rows (a batch's worth): that sizes the step and the batch
  // buffers; the fingerprint also covers the stream's files and row count (dataFingerprint).
  const template = opts.template ?? (await stream.sample(tc.batch_size)).encoded;
  const run = await startRun(config, features, template, opts.dataFingerprint ?? '');
  // The label vectors the training graph feeds, in its order (an empty gather returns them).
  const labelKeys = [...run.assembler.assemble(0, 0).labels.keys()];
  run.stepsPerEpoch = estimatedSteps(stream, run.batchSize);
  if (opts.resume === true) resumeRun(run, opts.checkpointDir);
  const resumedFromStep = run.pos.globalStep;
  const dir = opts.checkpointDir;
  const checkpoint = async (): Promise<void> => {
    if (dir !== undefined) await saveRunCheckpoint(run, dir);
  };
  let stoppedEarly = false;
  let interrupted = false;
  try {
    for (; run.pos.epoch <= tc.epochs; run.pos.epoch++) {
      applyEpochLearningRates(tc, run.pos.epoch, run.step.optimizer, [run.embeddings]);
      const { end, rows } = await runStreamEpoch(run, stream, labelKeys, opts, checkpoint, timings, opts.onWindow);
      if (end === 'interrupted') interrupted = true;
      if (end !== 'complete') break;
      const pos = run.pos;
      const record: EpochRecord = { epoch: pos.epoch, steps: pos.batchInEpoch, seconds: pos.epochSeconds, samplesPerSecond: rows / pos.epochSeconds, train: means(pos.sums, pos.batchInEpoch) };
      const validMetrics = await validateEpoch(run.model, valid, tc);
      if (validMetrics !== undefined) record.valid = validMetrics;
      pos.history.push(record);
      await opts.onEpoch?.(record, run.model);
      const stop = earlyStop(run, record);
      if (stop) stoppedEarly = record.epoch < tc.epochs;
      await finishEpoch(run, stop, checkpoint);
      if (stop || stepLimitReached(run, opts.maxSteps)) break;
    }
  } finally {
    await stream.close();
  }
  timings.step = { ...run.step.timings };
  await run.step.release();
  return finishRun(run, { stoppedEarly, interrupted, resumedFromStep });
}

/** Batches of an epoch when no row is skipped (progress only; the epoch ends when the stream does). */
function estimatedSteps(stream: TrainStream, batchSize: number): number {
  return stream.planEpoch(new Rng(0)).reduce((s, w) => s + Math.ceil((w.rows * stream.keptShare) / batchSize), 0);
}

/**
 * The steps of epoch `run.pos.epoch` from batch `run.pos.batchInEpoch` on. Each window's rows are
 * shuffled with the window's seed (kept in order with train.shuffle false) and cut into batches;
 * the last batch of a window may be short.
 */
async function runStreamEpoch(
  run: TrainingRun,
  stream: TrainStream,
  labelKeys: LabelKey[],
  hooks: StepHooks,
  checkpoint: () => Promise<void>,
  t: StreamTimings,
  onWindow: ((chunk: EncodedChunk, order: Int32Array) => void) | undefined,
): Promise<{ end: EpochEnd; rows: number }> {
  const { pos, step, batchSize, shuffleRng } = run;
  const tc = run.config.train;
  const epoch = pos.epoch;
  shuffleRng.setState(pos.epochShuffleState);
  const shuffle = tc.shuffle !== false;
  const windows = stream.planEpoch(shuffleRng, shuffle);
  const skipInvalid = run.config.data.skip_invalid === true;
  const t0 = performance.now() - pos.epochSeconds * 1000;
  let lastReport = performance.now();
  let done = 0; // batches of the windows before this one
  let rows = 0; // kept rows of the epoch so far
  for (let w = 0; w < windows.length; w++) {
    const win = windows[w]!;
    if (done + Math.ceil(win.rows / batchSize) <= pos.batchInEpoch) {
      // Wholly before the resume point: skip without encoding (count kept rows when rows can be skipped).
      const kept = skipInvalid || stream.filtersRows ? await stream.countWindow(win) : win.rows;
      done += Math.ceil(kept / batchSize);
      rows += kept;
      if (done <= pos.batchInEpoch) continue;
      done -= Math.ceil(kept / batchSize);
      rows -= kept;
    }
    const chunk = await stream.readWindow(win, t, windows[w + 1]);
    if (chunk === undefined) continue;
    const order = Int32Array.from({ length: chunk.rows }, (_, i) => i);
    if (shuffle) new Rng(win.seed).shuffle(order);
    onWindow?.(chunk, order);
    const assembler = new BatchAssembler(chunk, batchSize, labelKeys);
    const batches = Math.ceil(chunk.rows / batchSize);
    const lastWindow = w === windows.length - 1;
    for (let b = Math.max(0, pos.batchInEpoch - done); b < batches; b++) {
      const ts = performance.now();
      const start = b * batchSize;
      const end = Math.min(chunk.rows, start + batchSize);
      const batch = assembler.assemble(start, end, order);
      const losses = await step.run(batch);
      t.train += (performance.now() - ts) / 1000;
      t.rowsDelivered += end - start;
      const loss = losses.loss!;
      await checkStepLoss(run, loss);
      pos.globalStep++;
      pos.batchInEpoch = done + b + 1;
      await recordStepLoss(run, loss, losses);
      const now = performance.now();
      pos.epochSeconds = (now - t0) / 1000;
      const lastOfEpoch = lastWindow && b + 1 === batches;
      if (lastOfEpoch) run.stepsPerEpoch = pos.batchInEpoch;
      if (hooks.onProgress !== undefined && (now - lastReport > 1000 || lastOfEpoch)) {
        lastReport = now;
        hooks.onProgress({ epoch, epochs: tc.epochs, step: pos.batchInEpoch, stepsPerEpoch: run.stepsPerEpoch, samplesPerSecond: (rows + end) / Math.max(1e-9, pos.epochSeconds), losses: means(pos.sums, pos.batchInEpoch) });
      }
      if (hooks.shouldStop?.() === true) {
        await checkpoint();
        return { end: 'interrupted', rows: rows + end };
      }
      if (!lastOfEpoch && tc.checkpoint_every !== undefined && pos.globalStep % tc.checkpoint_every === 0) await checkpoint();
      if (stepLimitReached(run, hooks.maxSteps) && !lastOfEpoch) return { end: 'step-limit', rows: rows + end };
    }
    done += batches;
    rows += chunk.rows;
  }
  run.stepsPerEpoch = done;
  return { end: 'complete', rows };
}

function means(sums: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)]));
}
