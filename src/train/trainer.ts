import type { EncodedChunk } from '../data/batch.js';
import type { EsmmConfig } from '../config/types.js';
import type { FeatureSpec } from '../features/spec.js';
import { UserError } from '../errors.js';
import { Rng } from '../util/random.js';
import { buildModelGraph } from '../models/build-graph.js';
import { EmbeddingSet } from '../models/embeddings.js';
import { layoutOf } from '../models/layout-of.js';
import { FunnelModel } from '../models/model.js';
import { funnelSpec } from '../models/registry.js';
import { embeddingGroups } from '../models/spec.js';
import { evaluatePredictions, higherIsBetter, type FlatMetrics } from '../eval/evaluate.js';
import { BatchAssembler } from './batch.js';
import { fingerprintOf, hasCheckpoint, loadCheckpoint, saveCheckpoint, type LoopPosition } from './checkpoint.js';
import type { TrainProgress } from './progress.js';
import { initOutputBiases } from './prior-bias.js';
import { LossSpikeWatch, type RunWarning } from './guard.js';
import { snapshotModel, restoreSnapshot, type ModelSnapshot } from './snapshot.js';
import { sparseOptimizerConfig, TrainStep } from './step.js';

export interface EpochRecord {
  epoch: number;
  steps: number;
  seconds: number;
  samplesPerSecond: number;
  /** Mean training loss per loss name over the epoch (+ `loss`, the weighted total). */
  train: Record<string, number>;
  valid?: FlatMetrics;
}

export interface TrainResult {
  model: FunnelModel;
  history: EpochRecord[];
  /** Training loss per step (weighted total), for loss curves. */
  stepLoss: number[];
  /** The epoch early stopping judged best on validation; undefined when nothing was judged. */
  bestEpoch: number | undefined;
  /** The epoch whose weights the returned model holds (the best one when early stopping ran). */
  keptEpoch: number;
  stoppedEarly: boolean;
  /** True when a stop was requested (SIGINT) and the run ended early after a checkpoint. */
  interrupted: boolean;
  /** The step a resumed run started from (0 for a fresh run). */
  resumedFromStep: number;
  /** Degenerate-run symptoms seen while training (loss spikes); see guard.ts. */
  warnings: RunWarning[];
}

export interface TrainOptions {
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
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
 */
export async function trainFunnel(config: EsmmConfig, features: FeatureSpec, train: EncodedChunk, valid: EncodedChunk | undefined, opts: TrainOptions = {}): Promise<TrainResult> {
  if (train.rows === 0) throw new UserError('the training set has no rows');
  const spec = funnelSpec(config.model.name, config.schema);
  const layout = layoutOf(features, config.model.embedding_dim);
  const tc = config.train;
  const mg = buildModelGraph(spec, layout, config.model, { training: true, seed: tc.seed });
  const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
  if (config.model.output_bias_init === 'prior') initOutputBiases(spec, params, train);
  const embeddings = EmbeddingSet.create(layout, embeddingGroups(spec), sparseOptimizerConfig(tc), tc.seed, config.model.multi_valued_pooling, config.model.pooling,
    { l2: tc.embedding_l2, frequency: tc.embedding_l2_frequency });
  const model = new FunnelModel(config, spec, layout, features, params, embeddings);
  const fingerprint = fingerprintOf({ model: config.model, train: { ...tc, epochs: undefined, checkpoint_every: undefined, threads: undefined }, rows: train.rows, data: opts.dataFingerprint ?? '' });

  const batchSize = Math.min(tc.batch_size, train.rows);
  const assembler = new BatchAssembler(train, batchSize, mg.labelInputs.map((l) => l.key));
  const step = await TrainStep.create(mg, params, embeddings, config, batchSize);
  const shuffleRng = new Rng(tc.seed);
  const order = new Int32Array(train.rows);
  const stepsPerEpoch = Math.ceil(train.rows / batchSize);

  let pos: LoopPosition = {
    globalStep: 0, epoch: 1, batchInEpoch: 0, epochShuffleState: shuffleRng.getState(), dropoutState: step.dropoutRng.getState(),
    sums: {}, epochSeconds: 0, history: [], stepLoss: [], best: null, sinceBest: 0,
  };
  let best: ModelSnapshot | undefined;
  if (opts.resume === true) {
    if (opts.checkpointDir === undefined || !hasCheckpoint(opts.checkpointDir)) throw new UserError('no checkpoint to resume from', { file: opts.checkpointDir ?? '(no --out)' });
    const ck = loadCheckpoint(opts.checkpointDir, fingerprint);
    for (const [k, v] of ck.params) params.get(k)!.set(v);
    step.optimizer.restore(ck.optimizer);
    for (const [g, ts] of ck.tables) embeddings.tables.set(g, ts);
    if (ck.best !== undefined) best = { params: ck.best.params, tables: ck.best.tables };
    pos = ck.position;
    step.dropoutRng.setState(pos.dropoutState);
    if (pos.lossWeights !== undefined) step.setLossWeightState(pos.lossWeights);
  }
  const resumedFromStep = pos.globalStep;
  const spikes = new LossSpikeWatch();
  pos.stepLoss.forEach((l, i) => spikes.observe(i + 1, l));

  const checkpoint = async (): Promise<void> => {
    if (opts.checkpointDir === undefined) return;
    pos.dropoutState = step.dropoutRng.getState();
    const lossWeights = step.getLossWeightState();
    if (lossWeights !== undefined) pos.lossWeights = lossWeights;
    await saveCheckpoint(opts.checkpointDir, {
      position: pos, params, optimizer: step.optimizer.state(), tables: embeddings.tables, fingerprint,
      ...(best !== undefined ? { best: { params: best.params, tables: best.tables } } : {}),
    });
  };

  let stoppedEarly = false;
  let interrupted = false;
  const stepLimitReached = (): boolean => opts.maxSteps !== undefined && pos.globalStep >= opts.maxSteps;

  for (; pos.epoch <= tc.epochs; pos.epoch++) {
    const epoch = pos.epoch;
    shuffleRng.setState(pos.epochShuffleState);
    for (let i = 0; i < order.length; i++) order[i] = i;
    shuffleRng.shuffle(order);
    const t0 = performance.now() - pos.epochSeconds * 1000;
    let lastReport = performance.now();
    for (let b = pos.batchInEpoch; b < stepsPerEpoch; b++) {
      const start = b * batchSize;
      const end = Math.min(train.rows, start + batchSize);
      const batch = assembler.assemble(start, end, order);
      const losses = await step.run(batch, config.model.dropout);
      const loss = losses.loss!;
      if (!Number.isFinite(loss)) {
        await step.release();
        throw new UserError(`training diverged: loss is ${loss} at step ${pos.globalStep + 1} (epoch ${epoch}); lower train.learning_rate or set train.clip_norm`);
      }
      pos.globalStep++;
      pos.batchInEpoch = b + 1;
      pos.stepLoss.push(loss);
      spikes.observe(pos.globalStep, loss);
      if (tc.strict === true) {
        const w = spikes.warnings()[0];
        if (w !== undefined) {
          await step.release();
          throw new UserError(`degenerate run (${w.symptom}): ${w.message}`, { key: 'train.strict' });
        }
      }
      for (const [k, v] of Object.entries(losses)) pos.sums[k] = (pos.sums[k] ?? 0) + v;
      const now = performance.now();
      pos.epochSeconds = (now - t0) / 1000;
      if (opts.onProgress !== undefined && (now - lastReport > 1000 || end === train.rows)) {
        lastReport = now;
        opts.onProgress({ epoch, epochs: tc.epochs, step: b + 1, stepsPerEpoch, samplesPerSecond: end / Math.max(1e-9, pos.epochSeconds), losses: means(pos.sums, b + 1) });
      }
      const lastOfEpoch = b + 1 === stepsPerEpoch;
      if (opts.shouldStop?.() === true) {
        await checkpoint();
        interrupted = true;
        break;
      }
      if (!lastOfEpoch && tc.checkpoint_every !== undefined && pos.globalStep % tc.checkpoint_every === 0) await checkpoint();
      if (stepLimitReached()) break;
    }
    if (interrupted || (stepLimitReached() && pos.batchInEpoch < stepsPerEpoch)) break;

    const record: EpochRecord = {
      epoch, steps: stepsPerEpoch, seconds: pos.epochSeconds, samplesPerSecond: train.rows / pos.epochSeconds, train: means(pos.sums, stepsPerEpoch),
    };
    if (valid !== undefined && valid.rows > 0 && tc.validate !== false) {
      record.valid = evaluatePredictions(valid, await model.predictEncoded(valid));
    }
    pos.history.push(record);
    opts.onEpoch?.(record);

    let stop = false;
    const es = tc.early_stopping;
    if (es !== undefined && record.valid !== undefined) {
      const score = record.valid[es.metric];
      if (score === undefined) throw new UserError(`unknown early-stopping metric; available: ${Object.keys(record.valid).join(', ')}`, { key: 'train.early_stopping.metric' });
      const better = pos.best === null || (higherIsBetter(es.metric) ? score > pos.best.score : score < pos.best.score);
      if (better) {
        pos.best = { epoch, score };
        best = snapshotModel(model);
        pos.sinceBest = 0;
      } else if (++pos.sinceBest >= es.patience) {
        stoppedEarly = epoch < tc.epochs;
        stop = true;
      }
    }
    // Position of the next epoch, then an epoch-end checkpoint.
    pos.batchInEpoch = 0;
    pos.sums = {};
    pos.epochSeconds = 0;
    pos.epochShuffleState = shuffleRng.getState();
    if (epoch < tc.epochs && !stop) {
      pos.epoch = epoch + 1;
      await checkpoint();
      pos.epoch = epoch; // the for-loop increments it
    }
    if (stop || stepLimitReached()) break;
  }
  await step.release();
  if (best !== undefined && pos.best !== null && pos.best.epoch !== pos.history.length) restoreSnapshot(model, best);
  return {
    model, history: pos.history, stepLoss: pos.stepLoss, bestEpoch: pos.best?.epoch, keptEpoch: pos.best?.epoch ?? pos.history.length, stoppedEarly, interrupted, resumedFromStep,
    warnings: spikes.warnings(),
  };
}

function means(sums: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)]));
}
