/**
 * One worker of the sharded data-parallel step (sharded-step.ts): its own ORT session on its
 * slice of each batch, and the owner of shard `rank` of every embedding table.
 *
 * compute: gather the slice's embeddings from the shared tables (read-only), run forward +
 *   backward, write the slice's losses, its share-weighted dense gradient (own region of `grads`)
 *   and its rows of the batch's embedding gradient (rows a..b of `embGrad`, `seqGrad`).
 * apply (after EVERY worker computed): sum stripe `rank` of the dense gradient over the workers
 *   into `merged` and, unless the main thread does it (clip_norm), step the stripe's parameters in
 *   `params` (striped-dense.ts); then run the sparse update over the WHOLE batch with tables that only touch
 *   the rows this worker owns (SharedEmbeddingTable with owner = rank).
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { SharedEmbeddingTable } from '../../embedding/shared/shared-table.js';
import type { EmbeddingStore } from '../../embedding/embedding-store.js';
import { isUserError } from '../../errors.js';
import { EmbeddingSet } from '../../models/embeddings.js';
import { handOver, stripe, takeOver, type ShardReply, type ShardRequest, type ShardWorkerData } from './shard-protocol.js';
import { readSharedBatch } from './shared-batch.js';
import { sliceBatch } from './slice-batch.js';
import { stepDenseStripe } from './striped-dense.js';

/** The slice of onnxruntime-node's API used here (it is required at run time by absolute path). */
interface OrtTensor {
  readonly data: Float32Array;
}
interface OrtApi {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: {
    /** fetch: output name -> a tensor over a buffer ORT writes into, or null (ORT allocates it). */
    create(model: Uint8Array, o: Record<string, unknown>): Promise<{ run(feeds: Record<string, OrtTensor>, fetch: Record<string, OrtTensor | null>): Promise<Record<string, OrtTensor>> }>;
  };
}

const data = workerData as ShardWorkerData;
const { plan, rank, workers, buffers } = data;
const ort = createRequire(data.ortPath)(data.ortPath) as OrtApi;
const dim = plan.layout.dim;

const tables = new Map<string, EmbeddingStore[]>(data.tables.map((t) => [t.group, t.handles.map((h) => SharedEmbeddingTable.attach(h, rank))]));
const embeddings = new EmbeddingSet(plan.layout, plan.pooling, tables, plan.fieldPooling);

const sync = new Int32Array(buffers.sync);
const sharedParams = new Float32Array(buffers.params);
const params = new Float32Array(plan.paramTotal); // ORT cannot read a SharedArrayBuffer: a local copy per step
const paramTensors = Object.fromEntries(plan.params.map((p) => [p.name, new ort.Tensor('float32', params.subarray(p.offset, p.offset + p.length), p.dims)]));
const ownGrads = new Float32Array(buffers.grads, rank * plan.gradTotal * 4, plan.gradTotal);
const allGrads = new Float32Array(buffers.grads);
const merged = new Float32Array(buffers.merged);
const moments = new Float32Array(buffers.moments);
const embGrad = buffers.embGrad.map((b) => new Float32Array(b));
const seqGrad = buffers.seqGrad.map((b) => new Float32Array(b));
const losses = new Float64Array(buffers.losses);
const lossOutputs = ['loss', ...plan.lossNames.map((n) => `loss_${n}`)];
// ORT writes the gradients into buffers allocated once (as TrainStep's runInto does): an output
// allocated per run costs a fresh allocation and a copy into a new JS buffer (a 1.9 MB output took
// 4-9 ms against 0.7 ms preallocated in a micro-benchmark on the 2-core box, though the 16-core
// step time did not move with it: the hand-off took the time instead). Scalars (the losses) are
// left to ORT.
const dimsOf = new Map(plan.params.map((p) => [p.name, p.dims]));
const paramGradOut = plan.paramGrads.map((p) => new Float32Array(p.length));
const paramGradTensors = plan.paramGrads.map((p, k) => new ort.Tensor('float32', paramGradOut[k]!, dimsOf.get(p.param)!));

// Feed buffers, sized on first use for the largest slice seen.
let sliceMax = 0;
let embBuf: Float32Array[] = [];
let seqBuf: Float32Array[] = [];
let maskBuf: Float32Array[] = [];
let embGradOut: Float32Array[] = [];
let seqGradOut: Float32Array[] = [];
function reserve(rows: number): void {
  if (rows <= sliceMax) return;
  sliceMax = rows;
  embBuf = plan.embInputs.map((e) => new Float32Array(rows * e.width));
  seqBuf = plan.seqInputs.map((q) => new Float32Array(rows * q.maxLen * dim));
  maskBuf = plan.seqInputs.map((q) => new Float32Array(rows * q.maxLen));
  embGradOut = plan.embInputs.map((e) => new Float32Array(rows * e.width));
  seqGradOut = plan.seqInputs.map((q) => new Float32Array(rows * q.maxLen * dim));
}

/** The run's outputs: the losses by ORT, every gradient into this worker's buffers (m rows). */
function fetchesFor(m: number): Record<string, OrtTensor | null> {
  const f: Record<string, OrtTensor | null> = {};
  for (const name of lossOutputs) f[name] = null;
  plan.paramGrads.forEach((p, k) => (f[p.output] = paramGradTensors[k]!));
  plan.embGrads.forEach((e, i) => {
    const width = plan.embInputs[i]!.width;
    f[e.output] = new ort.Tensor('float32', embGradOut[i]!.subarray(0, m * width), [m, width]);
  });
  plan.seqGrads.forEach((e, i) => {
    const len = plan.seqInputs[i]!.maxLen;
    f[e.output] = new ort.Tensor('float32', seqGradOut[i]!.subarray(0, m * len * dim), [m, len, dim]);
  });
  return f;
}

type Session = Awaited<ReturnType<OrtApi['InferenceSession']['create']>>;
let session: Session | undefined;

async function compute(msg: Extract<ShardRequest, { kind: 'compute' }>): Promise<ShardReply> {
  takeOver(sync);
  const t0 = performance.now();
  const batch = readSharedBatch(buffers.batch, msg.n, msg.weighted);
  const { a, b } = msg;
  const n = batch.size;
  const m = b - a;
  reserve(m);
  const slice = sliceBatch(batch, a, b, plan.layout.numericDim);
  const feeds: Record<string, OrtTensor> = { ...paramTensors, [plan.lossWeightsInput]: new ort.Tensor('float32', msg.lossWeights, [msg.lossWeights.length]) };
  plan.maskInputs.forEach((mi, i) => (feeds[mi.input] = new ort.Tensor('float32', msg.masks[i]!, [m, mi.width])));
  plan.embInputs.forEach((e, i) => {
    embeddings.gather(e.group, slice, embBuf[i]!);
    feeds[e.input] = new ort.Tensor('float32', embBuf[i]!.subarray(0, m * e.width), [m, e.width]);
  });
  plan.seqInputs.forEach((q, i) => {
    embeddings.gatherSequence(q.group, q.field, slice, q.maxLen, seqBuf[i]!, maskBuf[i]!);
    feeds[q.input] = new ort.Tensor('float32', seqBuf[i]!.subarray(0, m * q.maxLen * dim), [m, q.maxLen, dim]);
    feeds[q.maskInput] = new ort.Tensor('float32', maskBuf[i]!.subarray(0, m * q.maxLen), [m, q.maxLen]);
  });
  // Numerics and labels are views of the shared batch: ORT takes only unshared memory, so copy.
  if (plan.numericInput !== undefined) feeds[plan.numericInput] = new ort.Tensor('float32', slice.numeric.slice(), [m, plan.layout.numericDim]);
  for (const l of plan.labelInputs) {
    const v = slice.labels.get(l.key);
    if (v !== undefined) feeds[l.input] = new ort.Tensor('float32', v.slice(0, m), [m, 1]);
  }
  params.set(sharedParams);
  const t1 = performance.now();
  const out = await session!.run(feeds, fetchesFor(m));
  const t2 = performance.now();

  // The batch gradient is the sum of the slices' gradients weighted by their row shares; a term
  // with another share (a mean over clicked rows) has it in this slice's loss weights already
  // (sharded-step.ts and term-shares.ts say why).
  const w = m / n;
  const lossAt = rank * (1 + plan.lossNames.length);
  losses[lossAt] = out.loss!.data[0]!;
  plan.lossNames.forEach((name, j) => (losses[lossAt + 1 + j] = out[`loss_${name}`]!.data[0]!));
  plan.paramGrads.forEach((p, k) => scaleInto(ownGrads, p.offset, paramGradOut[k]!, w));
  plan.embInputs.forEach((e, i) => scaleInto(embGrad[i]!, a * e.width, embGradOut[i]!.subarray(0, m * e.width), w));
  plan.seqInputs.forEach((q, i) => scaleInto(seqGrad[i]!, a * q.maxLen * dim, seqGradOut[i]!.subarray(0, m * q.maxLen * dim), w));
  handOver(sync);
  return { kind: 'computed', gatherMs: t1 - t0, ortMs: t2 - t1 };
}

function apply(msg: Extract<ShardRequest, { kind: 'apply' }>): ShardReply {
  takeOver(sync);
  const t0 = performance.now();
  const [lo, hi] = stripe(plan.gradTotal, rank, workers);
  const total = plan.gradTotal;
  for (let s = lo; s < hi; s++) {
    let sum = allGrads[s]!;
    for (let k = 1; k < msg.parts; k++) sum += allGrads[k * total + s]!;
    merged[s] = sum;
  }
  if (msg.dense !== undefined) stepDenseStripe(plan, lo, hi, sharedParams, merged, moments, msg.dense);
  const t1 = performance.now();
  // A worker without a slice this step has not read the batch yet.
  const full = readSharedBatch(buffers.batch, msg.n, msg.weighted);
  plan.embGrads.forEach((e, i) => embeddings.update(e.group, full, embGrad[i]!));
  plan.seqGrads.forEach((e, i) => embeddings.updateSequence(e.group, e.field, full, plan.seqInputs[i]!.maxLen, seqGrad[i]!));
  handOver(sync);
  return { kind: 'applied', denseMs: t1 - t0, sparseMs: performance.now() - t1 };
}

function scaleInto(dst: Float32Array, at: number, src: Float32Array, w: number): void {
  for (let j = 0; j < src.length; j++) dst[at + j] = w * src[j]!;
}

async function handle(msg: ShardRequest): Promise<ShardReply> {
  if (msg.kind === 'compute') return compute(msg);
  return apply(msg);
}

const port = parentPort!;
ort.InferenceSession.create(data.model, { intraOpNumThreads: data.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' })
  .then((s) => {
    session = s;
    port.postMessage({ kind: 'ready' } satisfies ShardReply);
  })
  .catch((e: unknown) => port.postMessage({ kind: 'error', message: String(e instanceof Error ? e.message : e), user: false } satisfies ShardReply));
port.on('message', (msg: ShardRequest) => {
  handle(msg).then(
    (r) => port.postMessage(r),
    (e: unknown) => port.postMessage({ kind: 'error', message: String(e instanceof Error ? e.message : e), user: isUserError(e) } satisfies ShardReply),
  );
});
