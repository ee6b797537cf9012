import type { Batch } from '../data/batch-assembler.js';
import type { ModelGraph } from './build-graph.js';
import type { EmbeddingSet } from './embeddings.js';

/** Input tensors for one run, keyed by graph input name. */
export type Feeds = Record<string, Float32Array | { data: Float32Array; dims: number[] }>;

/**
 * Per-run input buffers of a model graph, allocated once for the largest batch: gathered
 * embeddings per group, per-item embeddings and masks of attention-pooled fields; labels,
 * numerics and params are views or references, never copies.
 */
export class FeedBuilder {
  private readonly embBuffers: Map<string, Float32Array>;
  /** Per-item embeddings per sequence input, and masks per mask input (attention pooling). */
  private readonly seqBuffers: Map<string, Float32Array>;
  private readonly maskBuffers: Map<string, Float32Array>;
  /** Parameter inputs and their shapes, listed once (the graph's value list is long). */
  private readonly paramInputs: { name: string; dims: number[] }[];

  constructor(
    readonly mg: ModelGraph,
    readonly maxBatch: number,
  ) {
    this.embBuffers = new Map(mg.embInputs.map((e) => [e.input, new Float32Array(maxBatch * e.width)]));
    const dim = mg.layout.dim;
    this.seqBuffers = new Map(mg.seqInputs.map((q) => [q.input, new Float32Array(maxBatch * q.maxLen * dim)]));
    this.maskBuffers = new Map(mg.seqInputs.map((q) => [q.maskInput, new Float32Array(maxBatch * q.maxLen)]));
    this.paramInputs = mg.graph.params().map((p) => ({ name: p.value.name, dims: p.value.shape as number[] }));
  }

  /** The per-item embeddings buffer of a sequence input (valid for the last `build`). */
  sequenceBuffer(input: string): Float32Array {
    return this.seqBuffers.get(input)!;
  }

  /** The gathered-embedding buffer of a group (valid for the last `build`). */
  embeddingBuffer(input: string): Float32Array {
    return this.embBuffers.get(input)!;
  }

  build(batch: Batch, embeddings: EmbeddingSet, params: Map<string, Float32Array>, extra: Feeds = {}): Feeds {
    const n = batch.size;
    const feeds: Feeds = { ...extra };
    for (const e of this.mg.embInputs) {
      const buf = this.embBuffers.get(e.input)!;
      embeddings.gather(e.group, batch, buf);
      feeds[e.input] = { data: buf.subarray(0, n * e.width), dims: [n, e.width] };
    }
    const dim = this.mg.layout.dim;
    for (const q of this.mg.seqInputs) {
      if (embeddings.modeOf(q.field) !== 'attention') {
        throw new Error(`the graph pools '${q.field}' by attention but the embedding set pools it by ${embeddings.modeOf(q.field)}`);
      }
      const buf = this.seqBuffers.get(q.input)!;
      const fillMask = feeds[q.maskInput] === undefined;
      const mask = this.maskBuffers.get(q.maskInput)!;
      embeddings.gatherSequence(q.group, q.field, batch, q.maxLen, buf, fillMask ? mask : undefined);
      feeds[q.input] = { data: buf.subarray(0, n * q.maxLen * dim), dims: [n, q.maxLen, dim] };
      if (fillMask) feeds[q.maskInput] = { data: mask.subarray(0, n * q.maxLen), dims: [n, q.maxLen] };
    }
    if (this.mg.numericInput !== undefined) {
      feeds[this.mg.numericInput] = { data: batch.numeric, dims: [n, this.mg.layout.numericDim] };
    }
    for (const l of this.mg.labelInputs) {
      const v = batch.labels.get(l.key);
      if (v !== undefined) feeds[l.input] = { data: v.subarray(0, n), dims: [n, 1] };
    }
    for (const p of this.paramInputs) {
      const v = params.get(p.name);
      if (v === undefined) throw new Error(`no value for parameter ${p.name}`);
      feeds[p.name] = { data: v, dims: p.dims };
    }
    return feeds;
  }
}
