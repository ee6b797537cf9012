/**
 * The data-parallel training step with embedding tables in shared memory (`train.workers: N`,
 * N > 1). N worker threads (shard-worker.ts) each own a slice of every batch AND a shard of every
 * embedding table (rows with id mod N = k, shared/shared-table.ts). One step:
 *   1. compute (all workers at once): gather the slice's rows (read-only), ORT forward + backward
 *      on the slice, write the slice's share-weighted gradients into shared buffers;
 *   2. apply (after every worker computed): worker k sums stripe k of the dense gradient over the
 *      workers and applies the sparse optimizer to the rows of shard k over the WHOLE batch
 *      (duplicates summed, one step per row), in parallel with the other workers' shards; it
 *      also steps the parameters of its stripe with the dense optimizer (striped-dense.ts; with
 *      train.clip_norm, which needs the whole gradient's norm, the main thread runs it instead).
 * The batch is written once into shared memory (shared-batch.ts). So gather, sparse update,
 * gradient merge and dense update, single-threaded on the main thread in the earlier step (removed
 * once this one beat it in every interleaved pair of the bench), run on every worker; the main thread only hands the phases over. The phases are separated by the main thread waiting
 * for every worker's reply, with an Atomics fence on each side (shard-protocol.ts): nothing is
 * written by two threads in one phase (shared-table.ts says why), so no update can be lost.
 *
 * Why it trains the same model as 1 worker (within float rounding): every loss term is a mean over
 * the batch's rows (BCE over impressions, the AITM calibrator, ESCM2's IPW/DR risks; uncertainty
 * weighting is linear in each term), so the batch gradient is sum_k (n_k / n) * the gradient of
 * slice k, n_k its rows (a mean over the batch's clicked rows, naive_cvr's CVR loss, gets its
 * slices' click shares through their loss weights: term-shares.ts); what cannot be split so is
 * refused (unsupported.ts). Slice k's embedding
 * gradient rows are scaled by n_k / n at the slice's rows of the batch's gradient, and each owner
 * updates its rows over the whole batch, so duplicate ids across slices are summed into ONE row
 * update, in batch order, as in EmbeddingTable. Dropout masks are drawn for the whole batch from
 * the same RNG in the same order as TrainStep and cut into slices. What differs is float rounding:
 * summation order, and the dense optimizer runs in JavaScript (striped-dense.ts, the formulas of
 * TrainStep's in-graph Adam) because the gradient must be merged before the update.
 *
 * The EmbeddingSet's tables are replaced by shared ones at create (same contents). Anything that
 * later puts other tables into the set (resume from a checkpoint, restoring the best epoch) is
 * picked up at the next step: their rows are copied into the shared tables, which are put back.
 * Between steps the shared tables are read and saved on the main thread (validation, export,
 * checkpoints) in EmbeddingTable's save format.
 */
import os from 'node:os';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import type { EsmmConfig } from '../../config/types.js';
import type { Batch } from '../../data/batch-assembler.js';
import type { EmbeddingStore } from '../../embedding/embedding-store.js';
import { SharedEmbeddingTable } from '../../embedding/shared/shared-table.js';
import { UserError } from '../../errors.js';
import { encodeModel } from '../../graph/onnx.js';
import { LOSS_WEIGHTS_INPUT, type ModelGraph } from '../../models/build-graph.js';
import type { EmbeddingSet } from '../../models/embeddings.js';
import { DenseOptimizer } from '../../optim/dense.js';
import { Rng } from '../../util/random.js';
import type { GradNormState } from '../gradnorm.js';
import type { DenseOptimizerHandle } from '../graph-adam.js';
import { denseConfig, initialLossWeights, type StepLosses } from '../step.js';
import { emptyTimings, type StepTimings } from '../step-timings.js';
import { startModuleWorker } from './module-worker.js';
import { parallelUnsupported } from './unsupported.js';
import { handOver, takeOver, type ShardBuffers, type ShardPlan, type ShardReply, type ShardRequest, type ShardWorkerData } from './shard-protocol.js';
import { createSharedBatch, writeSharedBatch, type SharedBatchHandle } from './shared-batch.js';
import { sliceRanges } from './slice-batch.js';
import { sliceLossWeights, termShares } from './term-shares.js';
import { momentCount, StripedDense } from './striped-dense.js';

/** One worker and its single outstanding request. */
class ShardLink {
  private pending: { resolve: (r: ShardReply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.unref(); // ref'd only while a request is in flight: an idle worker never keeps the process alive
    worker.on('message', (r: ShardReply) => {
      this.worker.unref();
      const p = this.pending;
      this.pending = undefined;
      if (r.kind === 'error') p?.reject(r.user ? new UserError(r.message) : new Error(`shard worker: ${r.message}`));
      else p?.resolve(r);
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`shard worker exited with code ${code}`)));
  }

  /** The 'ready' reply the worker posts once its session is loaded. */
  ready(): Promise<ShardReply> {
    return this.expect();
  }

  request(msg: ShardRequest): Promise<ShardReply> {
    const p = this.expect();
    this.worker.postMessage(msg);
    return p;
  }

  async release(): Promise<void> {
    this.failure ??= new Error('shard worker released');
    await this.worker.terminate();
  }

  private expect(): Promise<ShardReply> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.pending !== undefined) return Promise.reject(new Error('shard worker: a request is already in flight'));
    return new Promise<ShardReply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }
}

export class ShardedTrainStep {
  readonly dropoutRng: Rng;
  timings: StepTimings = emptyTimings();
  private readonly lossWeights: Float32Array;
  /** Per loss term (mg.lossNames): a mean over the batch's clicked rows, not its rows (term-shares.ts). */
  private readonly clickedTerms: boolean[];
  private readonly masks: Float32Array[];
  private readonly sync: Int32Array;
  private readonly sharedParams: Float32Array;
  private readonly merged: Float32Array[];
  private readonly losses: Float64Array;
  private readonly batch: SharedBatchHandle;
  /** The dense update in the workers' stripes, or undefined: DenseOptimizer on this thread (clip_norm). */
  private readonly striped: StripedDense | undefined;

  private constructor(
    readonly mg: ModelGraph,
    private readonly links: ShardLink[],
    readonly params: Map<string, Float32Array>,
    readonly embeddings: EmbeddingSet,
    /** The shared tables, per group: what the set must hold at every step. */
    private readonly shared: Map<string, SharedEmbeddingTable[]>,
    private readonly plan: ShardPlan,
    buffers: ShardBuffers,
    config: EsmmConfig,
    readonly maxBatch: number,
    private readonly opt: DenseOptimizer,
  ) {
    this.lossWeights = initialLossWeights(mg, config);
    const clicked = new Set(mg.spec.losses.filter((l) => l.space === 'clicked').map((l) => l.name));
    this.clickedTerms = mg.lossNames.map((name) => clicked.has(name));
    this.masks = mg.maskInputs.map((m) => new Float32Array(maxBatch * m.width));
    this.sync = new Int32Array(buffers.sync);
    this.sharedParams = new Float32Array(buffers.params);
    const merged = new Float32Array(buffers.merged);
    this.merged = plan.paramGrads.map((p) => merged.subarray(p.offset, p.offset + p.length));
    this.losses = new Float64Array(buffers.losses);
    this.batch = buffers.batch;
    const { hyper, clipNorm } = opt.settings;
    this.striped = clipNorm === undefined ? new StripedDense(hyper, new Float32Array(buffers.moments), plan) : undefined;
    this.dropoutRng = new Rng(config.train.seed ^ 0x5bd1e995); // TrainStep's seed: the same masks
  }

  /** `workers` shard workers, intra-op threads split between them . */
  static async create(mg: ModelGraph, params: Map<string, Float32Array>, embeddings: EmbeddingSet, config: EsmmConfig, maxBatch: number, workers: number): Promise<ShardedTrainStep> {
    const why = parallelUnsupported(mg, config, true);
    if (why !== undefined) throw new UserError(`${workers} workers cannot train ${why}; set train.workers: 1`, { key: 'train.workers' });
    const paramArrays = mg.paramGrads.map((p) => {
      const v = params.get(p.param);
      if (v === undefined) throw new Error(`no value for parameter ${p.param}`);
      return v;
    });
    const opt = new DenseOptimizer(paramArrays, denseConfig(config.train));
    const plan = planOf(mg, params, config);
    const dim = mg.layout.dim;
    const f32 = (n: number): SharedArrayBuffer => new SharedArrayBuffer(4 * Math.max(1, n));
    const buffers: ShardBuffers = {
      params: f32(plan.paramTotal),
      grads: f32(workers * plan.gradTotal),
      merged: f32(plan.gradTotal),
      moments: f32(momentCount(opt.settings.hyper) * plan.gradTotal),
      embGrad: mg.embInputs.map((e) => f32(maxBatch * e.width)),
      seqGrad: mg.seqInputs.map((q) => f32(maxBatch * q.maxLen * dim)),
      losses: new SharedArrayBuffer(8 * workers * (1 + mg.lossNames.length)),
      sync: new SharedArrayBuffer(4),
      batch: createSharedBatch(maxBatch, mg.layout.categorical.length, mg.layout.multiValued.length, mg.layout.numericDim, mg.labelInputs.map((l) => l.key)),
    };
    const shared = new Map<string, SharedEmbeddingTable[]>();
    for (const [group, ts] of embeddings.tables) shared.set(group, ts.map((t) => SharedEmbeddingTable.load(t.save(), workers)));
    for (const [group, ts] of shared) embeddings.tables.set(group, [...ts]);

    const fetch = ['loss', ...mg.lossNames.map((n) => `loss_${n}`), ...mg.paramGrads.map((p) => p.output), ...mg.embGrads.map((e) => e.output), ...mg.seqGrads.map((e) => e.output)];
    const model = encodeModel(mg.graph, { paramsAs: 'inputs', outputs: fetch });
    const threads = Math.max(1, Math.floor((config.train.threads ?? os.availableParallelism()) / workers));
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    const tables = [...shared].map(([group, ts]) => ({ group, handles: ts.map((t) => t.handle()) }));
    const started = await Promise.allSettled(Array.from({ length: workers }, async (_, rank) => {
      const data: ShardWorkerData = { ortPath, rank, workers, model, threads, plan, tables, buffers };
      return new ShardLink(await startModuleWorker(import.meta.url, 'shard-worker', data));
    }));
    const links = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const ready = await Promise.allSettled(links.map((l) => l.ready()));
    const failed = [...started, ...ready].find((s) => s.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(links.map((l) => l.release()));
      throw (failed as PromiseRejectedResult).reason;
    }
    return new ShardedTrainStep(mg, links, params, embeddings, shared, plan, buffers, config, maxBatch, opt);
  }

  get optimizer(): DenseOptimizerHandle {
    return this.striped ?? this.opt;
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
    this.adoptTables();
    for (const p of this.plan.params) this.sharedParams.set(this.params.get(p.name)!, p.offset);
    this.drawMasks(n);
    const weighted = writeSharedBatch(this.batch, batch);
    const ranges = sliceRanges(n, this.links.length);
    const shares = termShares(this.clickedTerms, batch, ranges);
    const requests = ranges.map(([a, b], k): ShardRequest => ({
      kind: 'compute', n, weighted, a, b, lossWeights: sliceLossWeights(this.lossWeights, shares[k]!, (b - a) / n),
      masks: mg.maskInputs.map((m, i) => this.masks[i]!.slice(a * m.width, b * m.width)),
    }));
    handOver(this.sync);
    const t1 = performance.now();
    const computed = await Promise.all(requests.map((r, k) => this.links[k]!.request(r)));
    takeOver(this.sync);
    const t2 = performance.now();

    const losses: StepLosses = { loss: 0 };
    for (const name of mg.lossNames) losses[name] = 0;
    // Each slice's total already carries its terms' shares (term-shares.ts): weight it by row
    // share, as its gradient was; each term's own loss by its share (rows or clicks).
    const stride = 1 + mg.lossNames.length;
    ranges.forEach(([a, b], k) => {
      losses.loss! += ((b - a) / n) * this.losses[k * stride]!;
      mg.lossNames.forEach((name, j) => (losses[name]! += shares[k]![j]! * this.losses[k * stride + 1 + j]!));
    });
    const tm = this.timings;
    tm.steps++;
    const mean = (f: (r: ShardReply) => number, rs: ShardReply[]): number => rs.reduce((s, r) => s + f(r), 0) / rs.length;
    const workerGather = mean((r) => (r.kind === 'computed' ? r.gatherMs : 0), computed);
    const workerOrt = mean((r) => (r.kind === 'computed' ? r.ortMs : 0), computed);
    tm.gather += t1 - t0 + workerGather;
    tm.ort += workerOrt;
    tm.handoff += t2 - t1 - workerGather - workerOrt;
    if (!Number.isFinite(losses.loss!)) return losses; // the caller stops; weights stay as they were

    const dense = this.striped?.next();
    handOver(this.sync);
    const order: ShardRequest = { kind: 'apply', n, weighted, parts: ranges.length, ...(dense !== undefined ? { dense } : {}) };
    const applied = await Promise.all(this.links.map((l) => l.request(order)));
    takeOver(this.sync);
    const t3 = performance.now();
    if (dense === undefined) {
      this.opt.step(this.merged);
    } else {
      for (const p of this.plan.paramGrads) this.params.get(p.param)!.set(this.sharedParams.subarray(p.paramOffset, p.paramOffset + p.length));
    }
    const workerDense = mean((r) => (r.kind === 'applied' ? r.denseMs : 0), applied);
    const workerSparse = mean((r) => (r.kind === 'applied' ? r.sparseMs : 0), applied);
    tm.sparse += workerSparse;
    tm.handoff += t3 - t2 - workerDense - workerSparse;
    tm.dense += performance.now() - t3 + workerDense;
    return losses;
  }

  /**
   * Put the shared tables back into the set, first copying in the rows of any table that was put
   * there since the last step (a checkpoint's on resume, the best epoch's on restore).
   */
  private adoptTables(): void {
    for (const [group, shared] of this.shared) {
      const current = this.embeddings.tables.get(group);
      if (current === undefined) throw new Error(`embedding group '${group}' is gone from the set`);
      if (current.length === shared.length && current.every((t, i) => t === shared[i])) continue;
      shared.forEach((t, i) => {
        const other: EmbeddingStore | undefined = current[i];
        if (other !== undefined && other !== t) t.importSaved(other.save());
      });
      this.embeddings.tables.set(group, [...shared]);
    }
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
    await Promise.all(this.links.map((l) => l.release()));
  }
}

/** The graph's inputs and outputs as plain data for the workers, with offsets into the shared buffers. */
function planOf(mg: ModelGraph, params: Map<string, Float32Array>, config: EsmmConfig): ShardPlan {
  let paramTotal = 0;
  const paramList = mg.graph.params().map((p) => {
    const v = params.get(p.value.name);
    if (v === undefined) throw new Error(`no value for parameter ${p.value.name}`);
    const entry = { name: p.value.name, dims: p.value.shape as number[], offset: paramTotal, length: v.length };
    paramTotal += v.length;
    return entry;
  });
  let gradTotal = 0;
  const paramOffset = new Map(paramList.map((p) => [p.name, p.offset]));
  const paramGrads = mg.paramGrads.map((p) => {
    const entry = { param: p.param, output: p.output, offset: gradTotal, length: params.get(p.param)!.length, paramOffset: paramOffset.get(p.param)! };
    gradTotal += entry.length;
    return entry;
  });
  return {
    layout: mg.layout, pooling: config.model.multi_valued_pooling, fieldPooling: config.model.pooling,
    embInputs: mg.embInputs, seqInputs: mg.seqInputs, ...(mg.numericInput !== undefined ? { numericInput: mg.numericInput } : {}),
    labelInputs: mg.labelInputs, maskInputs: mg.maskInputs.map((m) => ({ input: m.input, width: m.width })),
    lossWeightsInput: LOSS_WEIGHTS_INPUT, lossNames: mg.lossNames,
    params: paramList, paramTotal, paramGrads, gradTotal, embGrads: mg.embGrads, seqGrads: mg.seqGrads,
  };
}
