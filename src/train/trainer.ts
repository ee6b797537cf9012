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
import { sparseOptimizerConfig, TrainStep } from './step.js';
import type { TrainProgress } from './progress.js';
import { snapshotModel, restoreSnapshot, type ModelSnapshot } from './snapshot.js';

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
  bestEpoch: number;
  stoppedEarly: boolean;
}

export interface TrainOptions {
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** Stop after this many steps in total (tests, benchmarks). */
  maxSteps?: number;
}

/**
 * Train a funnel model on encoded data: shuffled mini-batches (seeded), one ORT run per step for
 * forward + backward, dense Adam on parameters, sparse row-wise updates on the touched embedding
 * rows; validation and early stopping each epoch, keeping the best epoch's weights.
 */
export async function trainFunnel(config: EsmmConfig, features: FeatureSpec, train: EncodedChunk, valid: EncodedChunk | undefined, opts: TrainOptions = {}): Promise<TrainResult> {
  if (train.rows === 0) throw new UserError('the training set has no rows');
  const spec = funnelSpec(config.model.name, config.schema);
  const layout = layoutOf(features, config.model.embedding_dim);
  const tc = config.train;
  const mg = buildModelGraph(spec, layout, config.model, { training: true, seed: tc.seed });
  const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
  const embeddings = EmbeddingSet.create(layout, embeddingGroups(spec), sparseOptimizerConfig(tc), tc.seed, config.model.multi_valued_pooling);
  const model = new FunnelModel(config, spec, layout, features, params, embeddings);

  const batchSize = Math.min(tc.batch_size, train.rows);
  const assembler = new BatchAssembler(train, batchSize, mg.labelInputs.map((l) => l.key));
  const step = await TrainStep.create(mg, params, embeddings, config, batchSize);
  const shuffleRng = new Rng(tc.seed);
  const order = new Int32Array(train.rows);
  const stepsPerEpoch = Math.ceil(train.rows / batchSize);

  const history: EpochRecord[] = [];
  const stepLoss: number[] = [];
  let best: { epoch: number; score: number; snapshot: ModelSnapshot } | undefined;
  let sinceBest = 0;
  let stoppedEarly = false;
  let globalStep = 0;

  for (let epoch = 1; epoch <= tc.epochs; epoch++) {
    for (let i = 0; i < order.length; i++) order[i] = i;
    shuffleRng.shuffle(order);
    const sums: Record<string, number> = {};
    const t0 = performance.now();
    let lastReport = t0;
    let steps = 0;
    for (let start = 0; start < train.rows; start += batchSize) {
      const end = Math.min(train.rows, start + batchSize);
      const batch = assembler.assemble(start, end, order);
      const losses = await step.run(batch, config.model.dropout);
      globalStep++;
      const loss = losses.loss!;
      if (!Number.isFinite(loss)) {
        await step.release();
        throw new UserError(`training diverged: loss is ${loss} at step ${globalStep} (epoch ${epoch}); lower train.learning_rate or set train.clip_norm`);
      }
      stepLoss.push(loss);
      for (const [k, v] of Object.entries(losses)) sums[k] = (sums[k] ?? 0) + v;
      steps++;
      const now = performance.now();
      if (opts.onProgress !== undefined && (now - lastReport > 1000 || end === train.rows)) {
        lastReport = now;
        opts.onProgress({ epoch, epochs: tc.epochs, step: steps, stepsPerEpoch, samplesPerSecond: end / ((now - t0) / 1000), losses: means(sums, steps) });
      }
      if (opts.maxSteps !== undefined && globalStep >= opts.maxSteps) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    const record: EpochRecord = { epoch, steps, seconds, samplesPerSecond: Math.min(train.rows, steps * batchSize) / seconds, train: means(sums, steps) };
    if (valid !== undefined && valid.rows > 0 && tc.validate !== false) {
      record.valid = evaluatePredictions(valid, await model.predictEncoded(valid));
    }
    history.push(record);
    opts.onEpoch?.(record);

    const es = tc.early_stopping;
    if (es !== undefined && record.valid !== undefined) {
      const score = record.valid[es.metric];
      if (score === undefined) throw new UserError(`unknown early-stopping metric; available: ${Object.keys(record.valid).join(', ')}`, { key: 'train.early_stopping.metric' });
      const better = best === undefined || (higherIsBetter(es.metric) ? score > best.score : score < best.score);
      if (better) {
        best = { epoch, score, snapshot: snapshotModel(model) };
        sinceBest = 0;
      } else if (++sinceBest >= es.patience) {
        stoppedEarly = epoch < tc.epochs;
        break;
      }
    }
    if (opts.maxSteps !== undefined && globalStep >= opts.maxSteps) break;
  }
  await step.release();
  if (best !== undefined && best.epoch !== history.length) restoreSnapshot(model, best.snapshot);
  return { model, history, stepLoss, bestEpoch: best?.epoch ?? history.length, stoppedEarly };
}

function means(sums: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)]));
}
