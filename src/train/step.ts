import type { EsmmConfig } from '../config/types.js';
import { encodeModel } from '../graph/onnx.js';
import { GraphSession } from '../runtime/session.js';
import { DenseOptimizer } from '../optim/dense.js';
import type { SparseOptimizerConfig } from '../embedding/sparse-optimizer.js';
import { LOSS_WEIGHTS_INPUT, type ModelGraph } from '../models/build-graph.js';
import type { EmbeddingSet } from '../models/embeddings.js';
import { FeedBuilder, type Feeds } from '../models/feeds.js';
import { threadOpts } from '../models/model.js';
import { Rng } from '../util/random.js';
import type { Batch } from './batch.js';

/** Losses of one step: `loss` (the weighted total) and one entry per named loss. */
export type StepLosses = Record<string, number>;

/** Embedding optimizer settings from the train config (Adagrad's larger step is its usual setting). */
export function sparseOptimizerConfig(cfg: EsmmConfig['train']): SparseOptimizerConfig {
  const lr = cfg.embedding_learning_rate ?? (cfg.embedding_optimizer === 'adagrad' || cfg.embedding_optimizer === 'ftrl' ? cfg.learning_rate * 10 : cfg.learning_rate);
  return { type: cfg.embedding_optimizer, lr };
}

/**
 * One training step of a model graph: gather embeddings, run forward + backward in ORT, apply the
 * dense optimizer to the parameters (in place) and the sparse optimizer to the touched rows.
 */
export class TrainStep {
  private readonly feeds: FeedBuilder;
  private readonly fetch: string[];
  private readonly dense: DenseOptimizer;
  private readonly lossWeights: Float32Array;
  readonly dropoutRng: Rng;

  private constructor(
    readonly mg: ModelGraph,
    private readonly session: GraphSession,
    readonly params: Map<string, Float32Array>,
    readonly embeddings: EmbeddingSet,
    config: EsmmConfig,
    maxBatch: number,
  ) {
    const tc = config.train;
    this.feeds = new FeedBuilder(mg, maxBatch);
    this.fetch = ['loss', ...mg.lossNames.map((n) => `loss_${n}`), ...mg.paramGrads.map((p) => p.output), ...mg.embGrads.map((e) => e.output)];
    this.dense = new DenseOptimizer(mg.paramGrads.map((p) => params.get(p.param)!), {
      type: tc.optimizer, lr: tc.learning_rate, weightDecay: tc.weight_decay, ...(tc.clip_norm !== undefined ? { clipNorm: tc.clip_norm } : {}),
    });
    this.lossWeights = Float32Array.from(mg.lossNames.map((n) => config.model.loss_weights[n] ?? 1));
    this.dropoutRng = new Rng(tc.seed ^ 0x5bd1e995);
  }

  static async create(mg: ModelGraph, params: Map<string, Float32Array>, embeddings: EmbeddingSet, config: EsmmConfig, maxBatch: number): Promise<TrainStep> {
    const session = await GraphSession.create(encodeModel(mg.graph, { paramsAs: 'inputs' }), threadOpts(config.train.threads));
    return new TrainStep(mg, session, params, embeddings, config, maxBatch);
  }

  /** Dense optimizer state (for checkpoints). */
  get optimizer(): DenseOptimizer {
    return this.dense;
  }

  /** Run one step on a batch and update all weights. Returns the losses before the update. */
  async run(batch: Batch, dropout: number): Promise<StepLosses> {
    const extra: Feeds = { [LOSS_WEIGHTS_INPUT]: { data: this.lossWeights, dims: [this.lossWeights.length] }, ...this.dropoutMasks(batch.size, dropout) };
    const out = await this.session.run(this.feeds.build(batch, this.embeddings, this.params, extra), this.fetch);
    const losses: StepLosses = { loss: out.loss![0]! };
    for (const n of this.mg.lossNames) losses[n] = out[`loss_${n}`]![0]!;
    if (!Number.isFinite(losses.loss!)) return losses; // the caller stops; weights stay as they were
    this.dense.step(this.mg.paramGrads.map((p) => out[p.output]!));
    for (const e of this.mg.embGrads) this.embeddings.update(e.group, batch, out[e.output]!);
    return losses;
  }

  /** Bernoulli keep-masks for each dropout layer (seeded). */
  private dropoutMasks(n: number, rate: number): Feeds {
    const feeds: Feeds = {};
    for (const m of this.mg.maskInputs) {
      const data = new Float32Array(n * m.width);
      for (let i = 0; i < data.length; i++) data[i] = this.dropoutRng.next() >= rate ? 1 : 0;
      feeds[m.input] = { data, dims: [n, m.width] };
    }
    return feeds;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
