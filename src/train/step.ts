import type { EsmmConfig } from '../config/types.js';
import { encodeModel } from '../graph/onnx.js';
import { GraphSession } from '../runtime/session.js';
import { DenseOptimizer, type DenseOptimizerConfig, type DenseOptimizerState } from '../optim/dense.js';
import type { SparseOptimizerConfig } from '../embedding/sparse-optimizer.js';
import { LOSS_WEIGHTS_INPUT, type ModelGraph } from '../models/build-graph.js';
import type { EmbeddingSet } from '../models/embeddings.js';
import { FeedBuilder, type Feeds } from '../models/feeds.js';
import { threadOpts } from '../models/model.js';
import { Rng } from '../util/random.js';
import type { Batch } from '../data/batch-assembler.js';
import { addGraphAdam, GraphAdamState, type DenseOptimizerHandle } from './graph-adam.js';
import { towerLrScales } from './lr-scales.js';
import { emptyTimings, type StepTimings } from './step-timings.js';
import { GradNorm, type GradNormState } from './gradnorm.js';
import { DEFAULT_GRADNORM, DEFAULT_LOSS_WEIGHTS } from '../config/defaults.js';

export type { DenseOptimizerHandle } from './graph-adam.js';
export type { StepTimings } from './step-timings.js';

/** Losses of one step: `loss` (the weighted total) and one entry per named loss. */
export type StepLosses = Record<string, number>;

/** Embedding optimizer settings from the train config (Adagrad's larger step is its usual setting). */
export function sparseOptimizerConfig(cfg: EsmmConfig['train']): SparseOptimizerConfig {
  const lr = cfg.embedding_learning_rate ?? (cfg.embedding_optimizer === 'adagrad' || cfg.embedding_optimizer === 'ftrl' ? cfg.learning_rate * 10 : cfg.learning_rate);
  return { type: cfg.embedding_optimizer, lr };
}

/** Dense optimizer settings from the train config (also the data-parallel step's, train/parallel). */
export function denseConfig(tc: EsmmConfig['train']): DenseOptimizerConfig & { clipNorm?: number } {
  return { type: tc.optimizer, lr: tc.learning_rate, weightDecay: tc.weight_decay, ...(tc.clip_norm !== undefined ? { clipNorm: tc.clip_norm } : {}) };
}

/**
 * The dense update: in the graph (Adam/AdamW without clipping) or in JavaScript (SGD, clipping,
 * and `externalDense`, where `deferred` leaves the step to the caller's `applyDense`).
 */
type Dense = { kind: 'graph'; adam: GraphAdamState } | { kind: 'js'; opt: DenseOptimizer; grads: Float32Array[]; deferred: boolean };

/** What a TrainStep can do beyond the config (the store workers' gradient sync, src/distributed). */
export interface TrainStepOptions {
  /**
   * The step computes the dense gradients (`denseGradients`, after `gradScale`) but does not apply
   * them: the caller merges them with other processes' and calls `applyDense` with the merged
   * gradient, which steps the config's dense optimizer (DenseOptimizer: Adam, AdamW or SGD, with
   * clip_norm) exactly as the JS path of a single process does.
   */
  externalDense?: boolean;
}

/**
 * One training step of a model graph: gather embeddings, run forward + backward in ORT, apply the
 * dense optimizer to the parameters (in place) and the sparse optimizer to the touched rows.
 *
 * Speed (DESIGN.md): ORT writes every output into buffers allocated here once (`runInto`); Adam
 * and AdamW run inside the graph (the updated parameters come out of the same ORT run), other
 * settings use the JS DenseOptimizer on the gradient outputs. Steps are strictly sequential: the
 * gather of step t+1 reads rows after step t's sparse update, exactly as a plain loop would.
 */
/** The fixed loss weights fed as `loss_weights`: model.loss_weights, else the per-loss defaults, else 1. */
export function initialLossWeights(mg: ModelGraph, config: EsmmConfig): Float32Array {
  return Float32Array.from(mg.lossNames.map((n) => config.model.loss_weights[n] ?? DEFAULT_LOSS_WEIGHTS[n] ?? 1));
}

export class TrainStep {
  private readonly feeds: FeedBuilder;
  private readonly dense: Dense;
  /**
   * The `loss_weights` input fed every step ([lossNames.length]); updatable in place. With
   * `loss_weighting: gradnorm` the GradNorm update rewrites the task entries after each step.
   */
  readonly lossWeights: Float32Array;
  /** GradNorm weighting (loss_weighting: gradnorm), else undefined. */
  readonly gradNorm: GradNorm | undefined;
  /** Per-task unweighted gradient norms g_i of the last step (gradnorm only; task order). */
  readonly lastGradNorms: Float64Array;
  private readonly lossOut: Map<string, Float32Array>;
  /** Embedding-input gradients, [maxBatch * width] per group. */
  private readonly embGradOut: Float32Array[];
  /** Sequence-input gradients (attention pooling), [maxBatch * maxLen * dim] per sequence input. */
  private readonly seqGradOut: Float32Array[];
  private readonly masks: Float32Array[];
  private readonly outputs: Record<string, Float32Array> = {};
  private outputsFor = -1;
  /** Cumulative phase times since the last `resetTimings` (cheap to keep: five clock reads a step). */
  timings: StepTimings = emptyTimings();
  readonly dropoutRng: Rng;

  private constructor(
    readonly mg: ModelGraph,
    private readonly session: GraphSession,
    readonly params: Map<string, Float32Array>,
    readonly embeddings: EmbeddingSet,
    config: EsmmConfig,
    readonly maxBatch: number,
    dense: Dense,
  ) {
    this.feeds = new FeedBuilder(mg, maxBatch);
    this.dense = dense;
    this.lossWeights = initialLossWeights(mg, config);
    const gn = mg.gradNorms ?? [];
    this.gradNorm = gn.length > 0 ? new GradNorm(gn.map((x) => x.index), this.lossWeights, config.model.gradnorm ?? DEFAULT_GRADNORM) : undefined;
    this.gradNorm?.write(this.lossWeights);
    this.lastGradNorms = new Float64Array(gn.length);
    this.lossOut = new Map(['loss', ...mg.lossNames.map((n) => `loss_${n}`), ...gn.map((x) => x.output)].map((n) => [n, new Float32Array(1)]));
    this.embGradOut = mg.embGrads.map((_, i) => new Float32Array(maxBatch * mg.embInputs[i]!.width));
    this.seqGradOut = mg.seqGrads.map((_, i) => new Float32Array(maxBatch * mg.seqInputs[i]!.maxLen * mg.layout.dim));
    this.masks = mg.maskInputs.map((m) => new Float32Array(maxBatch * m.width));
    this.dropoutRng = new Rng(config.train.seed ^ 0x5bd1e995);
  }

  /**
   * With Adam or AdamW (and no clip_norm) this adds the in-graph update to `mg.graph` (once per
   * graph; a second TrainStep on the same graph reuses it).
   */
  static async create(mg: ModelGraph, params: Map<string, Float32Array>, embeddings: EmbeddingSet, config: EsmmConfig, maxBatch: number, opts: TrainStepOptions = {}): Promise<TrainStep> {
    const tc = config.train;
    const cfg = denseConfig(tc);
    new DenseOptimizer([], cfg); // validates the settings (lr, betas, ...) with the JS optimizer's messages
    const paramArrays = mg.paramGrads.map((p) => {
      const v = params.get(p.param);
      if (v === undefined) throw new Error(`no value for parameter ${p.param}`);
      return v;
    });
    const lrScales = towerLrScales(mg.paramGrads.map((p) => p.param), config.model);
    const base = ['loss', ...mg.lossNames.map((n) => `loss_${n}`), ...(mg.gradNorms ?? []).map((x) => x.output), ...mg.embGrads.map((e) => e.output), ...mg.seqGrads.map((e) => e.output)];
    let dense: Dense;
    let fetch: string[];
    if ((cfg.type === 'adam' || cfg.type === 'adamw') && cfg.clipNorm === undefined && opts.externalDense !== true) {
      const adamCfg = { type: cfg.type, lr: cfg.lr, beta1: cfg.beta1 ?? 0.9, beta2: cfg.beta2 ?? 0.999, eps: cfg.eps ?? 1e-8, weightDecay: cfg.weightDecay ?? (cfg.type === 'adamw' ? 0.01 : 0) };
      fetch = [...base, ...addGraphAdam(mg.graph, mg.paramGrads, adamCfg, lrScales)];
      dense = { kind: 'graph', adam: new GraphAdamState(mg.paramGrads.map((p) => p.param), paramArrays, adamCfg) };
    } else {
      fetch = [...base, ...mg.paramGrads.map((p) => p.output)];
      dense = { kind: 'js', opt: new DenseOptimizer(paramArrays, cfg, lrScales), grads: paramArrays.map((p) => new Float32Array(p.length)), deferred: opts.externalDense === true };
    }
    const session = await GraphSession.create(encodeModel(mg.graph, { paramsAs: 'inputs', outputs: fetch }), threadOpts(tc.threads));
    return new TrainStep(mg, session, params, embeddings, config, maxBatch, dense);
  }

  /** Dense optimizer (step count, learning rate, state for checkpoints). */
  get optimizer(): DenseOptimizerHandle {
    return this.dense.kind === 'graph' ? this.dense.adam : this.dense.opt;
  }

  /**
   * Multiplies this step's gradients (dense and embedding) before they are used: a process that
   * trains n_k of a round's n rows sets n_k / n, so that the processes' gradients add up to the
   * gradient of the round's mean loss (every loss term is a mean over the batch's rows, as the
   * sharded step's slices use: train/parallel/sharded-step.ts). Needs the dense gradients out of
   * the graph (not the in-graph Adam); 1 leaves every bit as it was.
   */
  gradScale = 1;

  /** The last step's dense gradients (after gradScale), in `mg.paramGrads` order; only with `externalDense`. */
  get denseGradients(): Float32Array[] {
    if (this.dense.kind !== 'js' || !this.dense.deferred) throw new Error('denseGradients needs a TrainStep created with externalDense');
    return this.dense.grads;
  }

  /** externalDense: one step of the dense optimizer on `grads` (clipped in place with clip_norm). */
  applyDense(grads: Float32Array[]): void {
    if (this.dense.kind !== 'js' || !this.dense.deferred) throw new Error('applyDense needs a TrainStep created with externalDense');
    this.dense.opt.step(grads);
  }

  /** True when the dense update runs inside the ORT graph. */
  get denseInGraph(): boolean {
    return this.dense.kind === 'graph';
  }

  /** Dense optimizer state: step count, first then second moments (Adam), momentum (SGD). */
  getOptimizerState(): DenseOptimizerState {
    return this.optimizer.state();
  }

  setOptimizerState(s: DenseOptimizerState): void {
    this.optimizer.restore(s);
  }

  /** GradNorm's loss-weight state for checkpoints (undefined unless loss_weighting is gradnorm). */
  getLossWeightState(): GradNormState | undefined {
    return this.gradNorm?.state();
  }

  setLossWeightState(s: GradNormState): void {
    if (this.gradNorm === undefined) throw new Error('this training step has no GradNorm loss weights to restore');
    this.gradNorm.restore(s);
    this.gradNorm.write(this.lossWeights);
  }

  resetTimings(): void {
    this.timings = emptyTimings();
  }

  /**
   * Run one step on a batch and update all weights. Returns the losses before the update. Dropout
   * rates are the graph's (each mask input carries its layer's rate), so there is no rate argument.
   */
  async run(batch: Batch): Promise<StepLosses> {
    const n = batch.size;
    if (n > this.maxBatch) throw new Error(`batch of ${n} rows exceeds the step's ${this.maxBatch}`);
    const t0 = performance.now();
    const extra: Feeds = { [LOSS_WEIGHTS_INPUT]: { data: this.lossWeights, dims: [this.lossWeights.length] } };
    this.dropoutMasks(n, extra);
    if (this.dense.kind === 'graph') this.dense.adam.addFeeds(extra);
    const feeds = this.feeds.build(batch, this.embeddings, this.params, extra);
    const t1 = performance.now();
    await this.session.runInto(feeds, this.outputsForBatch(n));
    const t2 = performance.now();

    const losses: StepLosses = { loss: this.lossOut.get('loss')![0]! };
    for (const name of this.mg.lossNames) losses[name] = this.lossOut.get(`loss_${name}`)![0]!;
    const tm = this.timings;
    tm.steps++;
    tm.gather += t1 - t0;
    tm.ort += t2 - t1;
    if (!Number.isFinite(losses.loss!)) return losses; // the caller stops; weights stay as they were
    if (this.gradNorm !== undefined) this.updateLossWeights(losses);
    if (this.gradScale !== 1) this.scaleGradients(n, this.gradScale);
    if (this.dense.kind === 'graph') this.dense.adam.commit();
    else if (!this.dense.deferred) this.dense.opt.step(this.dense.grads);
    const t3 = performance.now();
    this.mg.embGrads.forEach((e, i) => this.embeddings.update(e.group, batch, this.embGradOut[i]!));
    this.mg.seqGrads.forEach((e, i) => this.embeddings.updateSequence(e.group, e.field, batch, this.mg.seqInputs[i]!.maxLen, this.seqGradOut[i]!));
    tm.dense += t3 - t2;
    tm.sparse += performance.now() - t3;
    return losses;
  }

  /** Scales the step's gradients by w in place (float32, as the sharded step's workers do). */
  private scaleGradients(n: number, w: number): void {
    if (this.dense.kind === 'graph') throw new Error('gradScale needs the dense gradients out of the graph (externalDense)');
    const scale = (a: Float32Array): void => {
      for (let i = 0; i < a.length; i++) a[i] = w * a[i]!;
    };
    this.dense.grads.forEach(scale);
    this.embGradOut.forEach((g, i) => scale(g.subarray(0, n * this.mg.embInputs[i]!.width)));
    this.seqGradOut.forEach((g, i) => scale(g.subarray(0, n * this.mg.seqInputs[i]!.maxLen * this.mg.layout.dim)));
  }

  /** GradNorm: read this step's task losses and gradient norms, update the weights fed next step. */
  private updateLossWeights(losses: StepLosses): void {
    const gn = this.mg.gradNorms!;
    gn.forEach((x, k) => (this.lastGradNorms[k] = this.lossOut.get(x.output)![0]!));
    this.gradNorm!.update(gn.map((x) => losses[x.loss]!), Array.from(this.lastGradNorms));
    this.gradNorm!.write(this.lossWeights);
  }

  /** The output buffers for a batch of n rows (rebuilt only when n changes, e.g. the last batch). */
  private outputsForBatch(n: number): Record<string, Float32Array> {
    const out = this.outputs;
    if (this.outputsFor !== n) {
      for (const [name, buf] of this.lossOut) out[name] = buf;
      this.mg.embGrads.forEach((e, i) => {
        out[e.output] = this.embGradOut[i]!.subarray(0, n * this.mg.embInputs[i]!.width);
      });
      this.mg.seqGrads.forEach((e, i) => {
        out[e.output] = this.seqGradOut[i]!.subarray(0, n * this.mg.seqInputs[i]!.maxLen * this.mg.layout.dim);
      });
      if (this.dense.kind === 'js') {
        const grads = this.dense.grads;
        this.mg.paramGrads.forEach((p, k) => (out[p.output] = grads[k]!));
      }
      this.outputsFor = n;
    }
    if (this.dense.kind === 'graph') this.dense.adam.addOutputs(out); // moment buffers alternate
    return out;
  }

  /**
   * Bernoulli keep-masks for each dropout layer (seeded), in preallocated buffers: 1 with
   * probability 1 - m.rate, m.rate being the drop rate the graph builder gave that layer.
   */
  private dropoutMasks(n: number, feeds: Feeds): void {
    this.mg.maskInputs.forEach((m, k) => {
      const r = m.rate;
      const data = this.masks[k]!.subarray(0, n * m.width);
      for (let i = 0; i < data.length; i++) data[i] = this.dropoutRng.next() >= r ? 1 : 0;
      feeds[m.input] = { data, dims: [n, m.width] };
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
