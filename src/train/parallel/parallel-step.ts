/**
 * Data-parallel training step (`train.workers: N`, N > 1): each batch is split into N contiguous
 * slices; N worker threads (ort-worker.ts) each run the forward + backward graph WITHOUT the dense
 * update on their slice; the main thread sums the gradients and applies the dense optimizer and
 * the sparse embedding updates once, on the whole batch.
 *
 * Why this equals one worker at the same batch size: every loss term is a mean over the batch's
 * rows (BCE over impressions, the AITM calibrator, ESCM2's IPW/DR risks; uncertainty weighting is
 * linear in each term), so the batch gradient is sum_k (n_k / n) * gradient of slice k, n_k its
 * rows. Embedding gradients are per row: slice k's rows are scaled by n_k / n and written into
 * the batch's gradient buffer at the slice's rows, and the table update runs on the whole batch,
 * so duplicate ids across slices are summed into ONE row update (no lost or doubled updates).
 * Dropout masks are drawn for the whole batch from the same RNG in the same order as TrainStep
 * and cut into slices, so they are the 1-worker masks. What differs is float rounding: summation
 * order, and the dense Adam runs in JavaScript (src/optim/adam.ts, the same formulas as the
 * in-graph Adam of TrainStep) because the gradient must be merged before the update.
 *
 * Refused (one line naming train.workers): GradNorm (its weights come from norms of the whole
 * batch's per-task gradients, which do not add up across slices) and losses that are a mean over
 * the batch's CLICKED rows (naive_cvr's cvr loss: its denominator is the batch's click count, so
 * row shares are the wrong weights), and ESCM2's self-normalised risks (divided by the batch's
 * sum of inverse-propensity weights, for the same reason).
 *
 * The slices' gathers overlap: slice k+1 is gathered on the main thread while worker k already
 * runs. The sparse update and the merge stay on the main thread.
 *
 * train.workers > 1 now runs ShardedTrainStep (sharded-step.ts: tables in shared memory, gather,
 * merge and updates in the workers); this step stays for comparison (bench --workers 2m) and its
 * checks (parallelUnsupported) are shared.
 */
import os from 'node:os';
import type { EsmmConfig } from '../../config/types.js';
import type { Batch } from '../../data/batch-assembler.js';
import { UserError } from '../../errors.js';
import { encodeModel } from '../../graph/onnx.js';
import { LOSS_WEIGHTS_INPUT, type ModelGraph } from '../../models/build-graph.js';
import type { EmbeddingSet } from '../../models/embeddings.js';
import { FeedBuilder, type Feeds } from '../../models/feeds.js';
import { DenseOptimizer, type DenseOptimizerState } from '../../optim/dense.js';
import { Rng } from '../../util/random.js';
import type { GradNormState } from '../gradnorm.js';
import { denseConfig, initialLossWeights, type StepLosses } from '../step.js';
import { emptyTimings, type StepTimings } from '../step-timings.js';
import type { DenseOptimizerHandle } from '../graph-adam.js';
import { OrtWorker, type WorkerFeed } from './ort-worker.js';
import { sliceBatch, sliceRanges } from './slice-batch.js';

/** The reason `workers > 1` cannot train this model/config the same as 1 worker, or undefined. */
export function parallelUnsupported(mg: ModelGraph, config: EsmmConfig): string | undefined {
  if ((mg.gradNorms ?? []).length > 0) return 'model.loss_weighting: gradnorm (its task weights need the whole batch\'s gradient norms)';
  const clicked = mg.spec.losses.find((l) => l.space === 'clicked');
  if (clicked !== undefined) return `model '${config.model.name}' (its loss '${clicked.name}' is a mean over the batch's clicked rows, which slices cannot weight by row share)`;
  const selfNormalized = (mg.spec.regularizers ?? []).find((r) => r.kind === 'ipw' || r.kind === 'dr');
  if (selfNormalized !== undefined && config.model.escm2.self_normalize) {
    return `model '${config.model.name}' with model.escm2.self_normalize (its risk divides by the batch's sum of propensity weights, which slices cannot weight by row share; set self_normalize: false)`;
  }
  return undefined;
}

export class ParallelTrainStep {
  readonly dropoutRng: Rng;
  timings: StepTimings = emptyTimings();
  private readonly lossWeights: Float32Array;
  private readonly masks: Float32Array[];
  private readonly feeds: FeedBuilder[];
  private readonly fetch: string[];
  private readonly grads: Float32Array[];
  private readonly embGrad: Float32Array[];
  private readonly seqGrad: Float32Array[];

  private constructor(
    readonly mg: ModelGraph,
    private readonly workers: OrtWorker[],
    readonly params: Map<string, Float32Array>,
    readonly embeddings: EmbeddingSet,
    config: EsmmConfig,
    readonly maxBatch: number,
    private readonly opt: DenseOptimizer,
  ) {
    this.lossWeights = initialLossWeights(mg, config);
    this.masks = mg.maskInputs.map((m) => new Float32Array(maxBatch * m.width));
    const sliceMax = Math.ceil(maxBatch / workers.length);
    this.feeds = workers.map(() => new FeedBuilder(mg, sliceMax));
    this.fetch = ['loss', ...mg.lossNames.map((n) => `loss_${n}`), ...mg.paramGrads.map((p) => p.output), ...mg.embGrads.map((e) => e.output), ...mg.seqGrads.map((e) => e.output)];
    this.grads = mg.paramGrads.map((p) => new Float32Array(params.get(p.param)!.length));
    this.embGrad = mg.embInputs.map((e) => new Float32Array(maxBatch * e.width));
    this.seqGrad = mg.seqInputs.map((q) => new Float32Array(maxBatch * q.maxLen * mg.layout.dim));
    this.dropoutRng = new Rng(config.train.seed ^ 0x5bd1e995); // TrainStep's seed: the same masks
  }

  /**
   * `workers` sessions of the gradient graph (no dense update in it), intra-op threads split
   * between them (train.threads, default the machine's cores, divided by N, at least 1 each).
   */
  static async create(mg: ModelGraph, params: Map<string, Float32Array>, embeddings: EmbeddingSet, config: EsmmConfig, maxBatch: number, workers: number): Promise<ParallelTrainStep> {
    const why = parallelUnsupported(mg, config);
    if (why !== undefined) throw new UserError(`${workers} workers cannot train ${why}; set train.workers: 1`, { key: 'train.workers' });
    const paramArrays = mg.paramGrads.map((p) => {
      const v = params.get(p.param);
      if (v === undefined) throw new Error(`no value for parameter ${p.param}`);
      return v;
    });
    const opt = new DenseOptimizer(paramArrays, denseConfig(config.train));
    const fetch = ['loss', ...mg.lossNames.map((n) => `loss_${n}`), ...mg.paramGrads.map((p) => p.output), ...mg.embGrads.map((e) => e.output), ...mg.seqGrads.map((e) => e.output)];
    const model = encodeModel(mg.graph, { paramsAs: 'inputs', outputs: fetch });
    const threads = Math.max(1, Math.floor((config.train.threads ?? os.availableParallelism()) / workers));
    const started = await Promise.allSettled(Array.from({ length: workers }, () => OrtWorker.create(model, threads)));
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(ok.map((w) => w.release()));
      throw (failed as PromiseRejectedResult).reason;
    }
    return new ParallelTrainStep(mg, ok, params, embeddings, config, maxBatch, opt);
  }

  get optimizer(): DenseOptimizerHandle {
    return this.opt;
  }

  getOptimizerState(): DenseOptimizerState {
    return this.opt.state();
  }

  setOptimizerState(s: DenseOptimizerState): void {
    this.opt.restore(s);
  }

  /** No GradNorm with workers (refused in create). */
  getLossWeightState(): GradNormState | undefined {
    return undefined;
  }

  setLossWeightState(_s: GradNormState): void {
    throw new Error('this training step has no GradNorm loss weights to restore');
  }

  resetTimings(): void {
    this.timings = emptyTimings();
  }

  /** One step on the whole batch: same contract as TrainStep.run (losses before the update). */
  async run(batch: Batch): Promise<StepLosses> {
    const n = batch.size;
    if (n > this.maxBatch) throw new Error(`batch of ${n} rows exceeds the step's ${this.maxBatch}`);
    const mg = this.mg;
    const t0 = performance.now();
    this.drawMasks(n);
    const ranges = sliceRanges(n, this.workers.length);
    let gatherMs = performance.now() - t0; // masks count as gather, as in TrainStep
    const results = ranges.map(([a, b], k) => {
      const tg = performance.now();
      const extra: Feeds = { [LOSS_WEIGHTS_INPUT]: { data: this.lossWeights, dims: [this.lossWeights.length] } };
      mg.maskInputs.forEach((m, i) => (extra[m.input] = { data: this.masks[i]!.subarray(a * m.width, b * m.width), dims: [b - a, m.width] }));
      const feeds = this.feeds[k]!.build(sliceBatch(batch, a, b, mg.layout.numericDim), this.embeddings, this.params, extra);
      const p = this.workers[k]!.run(asWorkerFeeds(feeds), this.fetch);
      gatherMs += performance.now() - tg;
      return p;
    });
    const outs = await Promise.all(results);
    const t2 = performance.now();

    const losses: StepLosses = { loss: 0 };
    for (const name of mg.lossNames) losses[name] = 0;
    ranges.forEach(([a, b], k) => {
      const w = (b - a) / n;
      const out = outs[k]!;
      losses.loss! += w * out.loss![0]!;
      for (const name of mg.lossNames) losses[name]! += w * out[`loss_${name}`]![0]!;
      mg.paramGrads.forEach((p, i) => scaleInto(this.grads[i]!, 0, out[p.output]!, w, k > 0));
      mg.embGrads.forEach((e, i) => scaleInto(this.embGrad[i]!, a * mg.embInputs[i]!.width, out[e.output]!, w, false));
      mg.seqGrads.forEach((e, i) => scaleInto(this.seqGrad[i]!, a * mg.seqInputs[i]!.maxLen * mg.layout.dim, out[e.output]!, w, false));
    });
    const tm = this.timings;
    tm.steps++;
    tm.gather += gatherMs;
    tm.ort += t2 - t0 - gatherMs;
    if (!Number.isFinite(losses.loss!)) return losses; // the caller stops; weights stay as they were
    this.opt.step(this.grads);
    const t3 = performance.now();
    mg.embGrads.forEach((e, i) => this.embeddings.update(e.group, batch, this.embGrad[i]!));
    mg.seqGrads.forEach((e, i) => this.embeddings.updateSequence(e.group, e.field, batch, mg.seqInputs[i]!.maxLen, this.seqGrad[i]!));
    tm.dense += t3 - t2;
    tm.sparse += performance.now() - t3;
    return losses;
  }

  /** Bernoulli keep-masks for the whole batch, drawn exactly as TrainStep draws them. */
  private drawMasks(n: number): void {
    this.mg.maskInputs.forEach((m, k) => {
      const r = m.rate;
      const data = this.masks[k]!.subarray(0, n * m.width);
      for (let i = 0; i < data.length; i++) data[i] = this.dropoutRng.next() >= r ? 1 : 0;
    });
  }

  async release(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.release()));
  }
}

/** dst[at..] = w * src (or += when `add`). */
function scaleInto(dst: Float32Array, at: number, src: Float32Array, w: number, add: boolean): void {
  if (add) for (let j = 0; j < src.length; j++) dst[at + j] += w * src[j]!;
  else for (let j = 0; j < src.length; j++) dst[at + j] = w * src[j]!;
}

/** FeedBuilder's feeds with explicit dims (a bare array is a parameter: its dims are in the graph). */
function asWorkerFeeds(feeds: Feeds): Record<string, WorkerFeed> {
  const out: Record<string, WorkerFeed> = {};
  for (const [name, f] of Object.entries(feeds)) {
    if (f instanceof Float32Array) throw new Error(`feed '${name}' has no dims`);
    out[name] = f;
  }
  return out;
}
