/**
 * What the main thread and the shard workers of the data-parallel step (sharded-step.ts,
 * shard-worker.ts) hand each other: the plan of the graph's inputs and outputs (plain data, so it
 * can be posted), the shared buffers, and the messages of one step.
 */
import type { FieldPooling } from '../../config/types.js';
import type { LabelKey } from '../../data/batch.js';
import type { SharedTableHandle } from '../../embedding/shared/shared-table.js';
import type { SeqInput } from '../../models/build-graph.js';
import type { FeatureLayout } from '../../models/layout.js';
import type { SharedBatchHandle } from './shared-batch.js';
import type { DenseStepOrder } from './striped-dense.js';

export interface ShardPlan {
  layout: FeatureLayout;
  pooling: 'sum' | 'mean';
  fieldPooling: Record<string, FieldPooling>;
  embInputs: { group: string; input: string; width: number }[];
  seqInputs: SeqInput[];
  numericInput?: string;
  labelInputs: { key: LabelKey; input: string }[];
  maskInputs: { input: string; width: number }[];
  lossWeightsInput: string;
  lossNames: string[];
  /** Every parameter input of the graph, at its offset in the shared params buffer. */
  params: { name: string; dims: number[]; offset: number; length: number }[];
  paramTotal: number;
  /** Gradient outputs of the trained parameters, at their offset in a gradient buffer (and the parameter's in `params`). */
  paramGrads: { param: string; output: string; offset: number; length: number; paramOffset: number }[];
  gradTotal: number;
  /** Gradient of each embInputs[i] (same order). */
  embGrads: { group: string; output: string }[];
  /** Gradient of each seqInputs[i] (same order). */
  seqGrads: { group: string; field: string; output: string }[];
}

export interface ShardBuffers {
  /** Float32 [paramTotal]: the parameters of this step (written by the main thread before it). */
  params: SharedArrayBuffer;
  /** Float32 [workers x gradTotal]: worker k's share-weighted dense gradient at k * gradTotal. */
  grads: SharedArrayBuffer;
  /** Float32 [gradTotal]: the summed dense gradient (each worker sums its stripe). */
  merged: SharedArrayBuffer;
  /** Float32 [moments x gradTotal]: the dense optimizer's moments (striped-dense.ts). */
  moments: SharedArrayBuffer;
  /** Per embInputs: float32 [maxBatch x width], the whole batch's embedding gradient. */
  embGrad: SharedArrayBuffer[];
  /** Per seqInputs: float32 [maxBatch x maxLen x dim]. */
  seqGrad: SharedArrayBuffer[];
  /** Float64 [workers x (1 + losses)]: each worker's slice losses (total first). */
  losses: SharedArrayBuffer;
  /** Int32 [1]: an Atomics fence on each side of a phase hand-over (see sync). */
  sync: SharedArrayBuffer;
  /** The batch of the step (written by the main thread before the compute phase). */
  batch: SharedBatchHandle;
}

export interface ShardWorkerData {
  ortPath: string;
  rank: number;
  workers: number;
  model: Uint8Array;
  threads: number;
  plan: ShardPlan;
  tables: { group: string; handles: SharedTableHandle[] }[];
  buffers: ShardBuffers;
}

export type ShardRequest =
  /**
   * Gather the slice's rows [a, b) of the n-row shared batch (`weighted`: which multi-valued
   * fields have weights), run forward + backward, write gradients.
   */
  | { kind: 'compute'; n: number; weighted: boolean[]; a: number; b: number; masks: Float32Array[]; lossWeights: Float32Array }
  /**
   * After every worker computed: sum the own stripe of the dense gradient over the `parts`
   * workers that had a slice (a batch smaller than the worker count leaves some without one), and
   * step its parameters when `dense` is given; update the own rows for the whole n-row batch.
   */
  | { kind: 'apply'; n: number; weighted: boolean[]; parts: number; dense?: DenseStepOrder };

export type ShardReply =
  | { kind: 'ready' }
  | { kind: 'computed'; gatherMs: number; ortMs: number }
  | { kind: 'applied'; denseMs: number; sparseMs: number }
  | { kind: 'error'; message: string; user: boolean };

/**
 * Fence of a phase hand-over: the side that hands over bumps the word, the side that takes over
 * reads it. Atomics are sequentially consistent, so plain writes to shared memory before the bump
 * are seen by plain reads after the load (message passing alone gives no such guarantee in the
 * ECMAScript memory model, though V8 keeps it in practice).
 */
export function handOver(sync: Int32Array): void {
  Atomics.add(sync, 0, 1);
}

export function takeOver(sync: Int32Array): void {
  Atomics.load(sync, 0);
}

/** Stripe [lo, hi) of n values that worker `rank` of `workers` reduces. */
export function stripe(n: number, rank: number, workers: number): [number, number] {
  return [Math.floor((rank * n) / workers), Math.floor(((rank + 1) * n) / workers)];
}
