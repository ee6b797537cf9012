import type { EncodedChunk } from '../data/batch.js';
import { BatchAssembler } from '../data/batch-assembler.js';
import type { EsmmConfig } from '../config/types.js';
import type { FeatureSpec } from '../features/spec.js';
import { Rng } from '../util/random.js';
import { buildModelGraph, type ModelGraph } from '../models/build-graph.js';
import { EmbeddingSet } from '../models/embeddings.js';
import { layoutOf } from '../models/layout-of.js';
import { FunnelModel } from '../models/model.js';
import { funnelSpec } from '../models/registry.js';
import { embeddingGroups, logitBases } from '../models/funnel-spec.js';
import { fingerprintOf, type LoopPosition } from './checkpoint.js';
import type { ModelSnapshot } from './snapshot.js';
import { initialLossWeights, sparseOptimizerConfig, type TrainStepOptions } from './step.js';
import { createTrainingStep, type TrainingStep } from './parallel/training-step.js';
import { initOutputBiases, type PriorCounts } from './prior-bias.js';
import { LossSpikeWatch } from './guard.js';

/**
 * Everything one training run holds: the model and its training step, the shuffled row order and
 * the loop position. `pos` and `best` are what a checkpoint saves (with the weights and RNG states).
 */
export interface TrainingRun {
  config: EsmmConfig;
  train: EncodedChunk;
  model: FunnelModel;
  params: Map<string, Float32Array>;
  embeddings: EmbeddingSet;
  step: TrainingStep;
  assembler: BatchAssembler;
  shuffleRng: Rng;
  /** Row order of the current epoch (reshuffled from pos.epochShuffleState each epoch). */
  order: Int32Array;
  batchSize: number;
  stepsPerEpoch: number;
  /** Fingerprint of config and data: a checkpoint is only resumed by the same run. */
  fingerprint: string;
  pos: LoopPosition;
  /** Weights of the best epoch so far (early stopping). */
  best: ModelSnapshot | undefined;
  /** Degenerate-run guard over the step losses (guard.ts). */
  spikes: LossSpikeWatch;
}

/** The regularisers' fixed loss weights, which the spike guard takes out of the step loss. */
function penaltyWeights(mg: ModelGraph, config: EsmmConfig): Map<string, number> {
  const w = initialLossWeights(mg, config);
  return new Map(mg.penaltyNames.map((n) => [n, w[mg.lossNames.indexOf(n)]!]));
}

/** A fresh run at step 0: training graph, initial weights (seeded), embeddings and training step. */
/** `prior`: the label counts of the output-bias init when they are not `train`'s own (store workers pass all workers' sums). */
export async function startRun(config: EsmmConfig, features: FeatureSpec, train: EncodedChunk, dataFingerprint = '', stepOptions: TrainStepOptions = {}, prior?: PriorCounts): Promise<TrainingRun> {
  const spec = funnelSpec(config.model.name, config.schema);
  const layout = layoutOf(features, config.model.embedding_dim);
  const tc = config.train;
  const mg = buildModelGraph(spec, layout, config.model, { training: true, seed: tc.seed });
  const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
  if (config.model.output_bias_init === 'prior') initOutputBiases(spec, params, train, prior);
  const embeddings = EmbeddingSet.create(layout, embeddingGroups(spec), sparseOptimizerConfig(tc), tc.seed, config.model.multi_valued_pooling, config.model.pooling,
    { l2: tc.embedding_l2, frequency: tc.embedding_l2_frequency });
  const model = new FunnelModel(config, spec, layout, features, params, embeddings);
  // A tower's logit base changes what the same parameters mean (persist.ts checks saved models
  // the same way); it enters the fingerprint only when present, so other models' checkpoints keep theirs.
  const bases = logitBases(spec);
  const fingerprint = fingerprintOf({
    model: config.model, train: { ...tc, epochs: undefined, checkpoint_every: undefined, threads: undefined, workers: undefined }, rows: train.rows, data: dataFingerprint,
    ...(Object.keys(bases).length > 0 ? { logitBases: bases } : {}),
  });

  const batchSize = Math.min(tc.batch_size, train.rows);
  const assembler = new BatchAssembler(train, batchSize, mg.labelInputs.map((l) => l.key));
  const step = await createTrainingStep(mg, params, embeddings, config, batchSize, stepOptions);
  const shuffleRng = new Rng(tc.seed);
  const order = new Int32Array(train.rows);
  const stepsPerEpoch = Math.ceil(train.rows / batchSize);
  const pos: LoopPosition = {
    globalStep: 0, epoch: 1, batchInEpoch: 0, epochShuffleState: shuffleRng.getState(), dropoutState: step.dropoutRng.getState(),
    sums: {}, epochSeconds: 0, history: [], stepLoss: [], best: null, sinceBest: 0,
  };
  return { config, train, model, params, embeddings, step, assembler, shuffleRng, order, batchSize, stepsPerEpoch, fingerprint, pos, best: undefined, spikes: new LossSpikeWatch(penaltyWeights(mg, config)) };
}
