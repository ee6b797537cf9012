/**
 * An embedding table in shared memory (SharedArrayBuffer), row-sharded so that N worker threads
 * gather and update it in parallel without locks (the data-parallel step, train/parallel).
 *
 * Ownership: the row of id `id` belongs to shard `id mod N`. Ids are frequency-ranked vocabulary
 * indices or hash buckets, so `mod N` spreads hot ids evenly over the shards (consecutive ranks
 * alternate) at the cost of one integer modulo, where a hash would cost more for no better balance
 * on such ids. Each shard has its own record storage (a growable SharedArrayBuffer of
 * [weights | optimizer state | pad] records, the same layout as EmbeddingTable, so the same
 * SparseOptimizer steps it) and its own materialised-row count. The id map (two int32 words per
 * id: row-in-shard + 1, and the id's slot in the current update) is one shared array; an id's
 * words are only ever written by the id's owner.
 *
 * Why it cannot race: a step has two phases separated by a barrier (the main thread waits for
 * every worker to finish one phase before it starts the next, with an Atomics fence on each
 * side, see parallel/sync-word.ts).
 * - gather phase: every worker READS any row (its slice's ids); nobody writes.
 * - update phase: worker k WRITES only shard k: its rows' records, its ids' id-map words, its
 *   row count, its buffer's growth. It reads only the batch and the batch's gradient (written in
 *   the previous phase) and its own rows. Two workers never touch the same word in this phase.
 * So no word is written by two threads in one phase, or written while another thread reads it.
 *
 * Duplicates: worker k scans the WHOLE batch's ids in batch order and keeps the ones it owns, so
 * a row's gradients are summed in the same order as EmbeddingTable sums them and the row gets ONE
 * optimizer step per update, whichever slices its ids came from.
 *
 * The instance on the main thread has owner -1: it reads every shard (validation, export,
 * checkpoints) and updates every shard (one pass per shard), and must not do so while workers run
 * a phase. Save format: EmbeddingTable's ('esmm.embedding-table/1'); rows are listed shard by
 * shard, which loads into either table (a row's order is only its storage position).
 */
import type { MultiIds } from '../../data/batch.js';
import { UserError } from '../../errors.js';
import { float32FromBytes, int32FromBytes, toBytes } from '../bytes.js';
import { createSparseOptimizer } from '../create-sparse-optimizer.js';
import type { EmbeddingStore } from '../embedding-store.js';
import { tableSeedKey, writeInitialRow } from '../row-init.js';
import type { SparseOptimizer, SparseOptimizerConfig } from '../sparse-optimizer.js';
import { EmbeddingTable, type SavedEmbeddingTable } from '../table.js';
import { pooledGradScale } from '../pooled-grad-scale.js';
import { badId, checkLayout, checkMultiIds, recordStride } from '../table-checks.js';

/** What a worker needs to attach to the same table: its settings and its shared buffers. */
/** Node 20's growable SharedArrayBuffer (ES2024; the project's TypeScript lib predates it). */
export interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  readonly maxByteLength: number;
  grow(newByteLength: number): void;
}
const GrowableSab = SharedArrayBuffer as unknown as new (length: number, opts: { maxByteLength: number }) => GrowableSharedArrayBuffer;

export interface SharedTableHandle {
  name: string;
  rows: number;
  dim: number;
  optimizer: SparseOptimizerConfig;
  initStd: number;
  seed: number;
  l2: number;
  l2Frequency: boolean;
  shards: number;
  /** Int32 [2 * rows]: row-in-shard + 1 (0: untouched), slot in the current update. */
  idMap: SharedArrayBuffer;
  /** Int32 [shards]: materialised rows per shard. */
  allocated: SharedArrayBuffer;
  /** Float64 [1]: the learning rate (set on the main thread, read by the workers before updating). */
  lr: SharedArrayBuffer;
  /** Per shard, growable: float32 records of `stride` words. */
  data: GrowableSharedArrayBuffer[];
  /** Per shard, growable: int32 occurrence counts per row (l2Frequency), else empty. */
  counts: GrowableSharedArrayBuffer[];
}

const SAVE_FORMAT = 'esmm.embedding-table/1';
const FIRST_CAPACITY = 1024;
/** The largest growable SharedArrayBuffer Node 20 allows (checked: 2^33 is refused). */
const MAX_SHARD_BYTES = 2 ** 32;
/** Rows per touch-then-copy block (as in EmbeddingTable: overlaps the cache misses of a block). */
const PREFETCH_BLOCK = 256;

export class SharedEmbeddingTable implements EmbeddingStore {
  readonly name: string;
  readonly rows: number;
  readonly dim: number;
  readonly initStd: number;
  readonly seed: number;
  readonly l2: number;
  readonly l2Frequency: boolean;
  readonly shards: number;
  /** The shard this instance updates, or -1: all of them (the main thread's instance). */
  readonly owner: number;

  private readonly h: SharedTableHandle;
  private readonly optimizer: SparseOptimizer;
  private readonly seedKey: number;
  private readonly stride: number;
  private readonly stateWords: number;
  private readonly idMap: Int32Array;
  private readonly allocated: Int32Array;
  private readonly lrWord: Float64Array;
  /** Views of each shard's buffers, remade when the owner has grown the buffer (viewBytes). */
  private readonly data: Float32Array[] = [];
  private readonly dataI32: Int32Array[] = [];
  private readonly data64: Float64Array[] = [];
  private readonly counts: Int32Array[] = [];
  private readonly viewBytes: number[] = [];

  private uniqueRows = new Int32Array(0);
  private gradSum = new Float32Array(0);
  private uniqueCount = 0;
  private readonly blockRows = new Int32Array(PREFETCH_BLOCK);
  private readonly blockShard = new Int32Array(PREFETCH_BLOCK);
  private readonly initScratch: Float32Array;
  /** Written with the touch loads' combined value so the JIT cannot drop them as dead code. */
  private prefetchSink = 0;

  private constructor(h: SharedTableHandle, owner: number) {
    this.h = h;
    this.name = h.name;
    this.rows = h.rows;
    this.dim = h.dim;
    this.initStd = h.initStd;
    this.seed = h.seed;
    this.l2 = h.l2;
    this.l2Frequency = h.l2Frequency;
    this.shards = h.shards;
    this.owner = owner;
    this.optimizer = createSparseOptimizer(h.optimizer);
    this.seedKey = tableSeedKey(h.name, h.seed);
    this.stateWords = this.optimizer.stateWords(h.dim);
    this.stride = recordStride(h.dim, this.stateWords);
    this.idMap = new Int32Array(h.idMap);
    this.allocated = new Int32Array(h.allocated);
    this.lrWord = new Float64Array(h.lr);
    this.initScratch = new Float32Array(h.dim);
    for (let s = 0; s < h.shards; s++) this.remakeViews(s);
  }

  /**
   * An empty shared table with the settings of `opts` (EmbeddingTable's options), split into
   * `shards` shards; its instance here is the main thread's (owner -1).
   */
  static create(opts: { name: string; rows: number; dim: number; optimizer?: SparseOptimizerConfig; initStd?: number; seed?: number; l2?: number; l2Frequency?: boolean }, shards: number): SharedEmbeddingTable {
    // EmbeddingTable checks every option (and fills the optimizer's defaults): reuse it on an empty table.
    const probe = new EmbeddingTable(opts);
    if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shared embedding table '${opts.name}': shards must be a positive integer, got ${shards}`);
    const dim = probe.dim;
    const optimizer = probe.optimizerConfig;
    const stride = recordStride(dim, createSparseOptimizer(optimizer).stateWords(dim));
    const data: GrowableSharedArrayBuffer[] = [];
    const counts: GrowableSharedArrayBuffer[] = [];
    for (let s = 0; s < shards; s++) {
      const maxRows = shardRows(probe.rows, shards, s);
      const maxBytes = Math.min(maxRows * stride * 4, Math.floor(MAX_SHARD_BYTES / (stride * 4)) * stride * 4);
      data.push(new GrowableSab(Math.min(maxRows, FIRST_CAPACITY) * stride * 4, { maxByteLength: Math.max(maxBytes, 8) }));
      counts.push(new GrowableSab(probe.l2Frequency ? Math.min(maxRows, FIRST_CAPACITY) * 4 : 0, { maxByteLength: probe.l2Frequency ? Math.max(4, Math.min(maxRows * 4, MAX_SHARD_BYTES)) : 0 }));
    }
    const lr = new SharedArrayBuffer(8);
    new Float64Array(lr)[0] = optimizer.lr;
    return new SharedEmbeddingTable({
      name: probe.name, rows: probe.rows, dim, optimizer, initStd: probe.initStd, seed: probe.seed, l2: probe.l2, l2Frequency: probe.l2Frequency, shards,
      idMap: new SharedArrayBuffer(8 * probe.rows), allocated: new SharedArrayBuffer(4 * shards), lr, data, counts,
    }, -1);
  }

  /** A saved table (either implementation's) as a shared table of `shards` shards. */
  static load(saved: SavedEmbeddingTable, shards: number): SharedEmbeddingTable {
    const probe = EmbeddingTable.load(saved); // validates the metadata and buffers
    const t = SharedEmbeddingTable.create({ name: probe.name, rows: probe.rows, dim: probe.dim, optimizer: probe.optimizerConfig, initStd: probe.initStd, seed: probe.seed, l2: probe.l2, l2Frequency: probe.l2Frequency }, shards);
    t.importSaved(saved);
    return t;
  }

  /** Attach to a table made elsewhere (a worker, from the handle the main thread posted). */
  static attach(h: SharedTableHandle, owner: number): SharedEmbeddingTable {
    if (!Number.isInteger(owner) || owner < -1 || owner >= h.shards) throw new RangeError(`shared embedding table '${h.name}': owner ${owner} outside -1..${h.shards - 1}`);
    return new SharedEmbeddingTable(h, owner);
  }

  /** The handle to post to a worker (buffers are shared, not copied). */
  handle(): SharedTableHandle {
    return this.h;
  }

  get optimizerConfig(): SparseOptimizerConfig {
    return { ...this.optimizer.config, lr: this.lrWord[0]! };
  }

  setLearningRate(lr: number): void {
    if (!(Number.isFinite(lr) && lr >= 0)) throw new UserError(`learning rate must be a finite number >= 0, got ${lr}`);
    this.lrWord[0] = lr;
    this.optimizer.setLearningRate(lr);
  }

  allocatedRows(): number {
    let n = 0;
    for (let s = 0; s < this.shards; s++) n += this.allocated[s]!;
    return n;
  }

  byteSize(): number {
    let n = this.idMap.byteLength + this.allocated.byteLength + 8;
    for (let s = 0; s < this.shards; s++) n += this.h.data[s]!.byteLength + this.h.counts[s]!.byteLength;
    return n + this.uniqueRows.byteLength + this.gradSum.byteLength + this.blockRows.byteLength + this.blockShard.byteLength + this.initScratch.byteLength;
  }

  gather(ids: Int32Array, out: Float32Array, outStride: number, outOffset: number): void {
    const n = ids.length;
    checkLayout(this.name, this.dim, 'gather output', n, out.length, outStride, outOffset);
    this.refreshViews();
    const { dim, stride, blockRows, blockShard } = this;
    const lastWord = stride - 1;
    // Two floats at a time through float64 views when everything is 8-byte aligned (see EmbeddingTable.gather).
    const wide = (dim & 1) === 0 && (outStride & 1) === 0 && ((out.byteOffset >> 2) + outOffset) % 2 === 0;
    const misalign = out.byteOffset % 8;
    const out64 = wide ? new Float64Array(out.buffer, out.byteOffset - misalign, (misalign + out.byteLength) >> 3) : undefined;
    const outBase64 = (misalign + 4 * outOffset) >> 3;
    const halfDim = dim >> 1;
    const halfStride = stride >> 1;
    const halfOutStride = outStride >> 1;
    let sink = 0;
    for (let start = 0; start < n; start += PREFETCH_BLOCK) {
      const end = Math.min(n, start + PREFETCH_BLOCK);
      this.touchIds(ids, start, end);
      for (let i = start; i < end; i++) {
        const row = blockRows[i - start]!;
        if (row >= 0) {
          const d32 = this.dataI32[blockShard[i - start]!]!;
          sink += d32[row * stride]! ^ d32[row * stride + lastWord]!;
        }
      }
      for (let i = start; i < end; i++) {
        const row = blockRows[i - start]!;
        if (row < 0) {
          writeInitialRow(this.seedKey, ids[i]!, this.initStd, dim, out, outOffset + i * outStride);
        } else if (out64 !== undefined) {
          const src = this.data64[blockShard[i - start]!]!;
          const b = row * halfStride;
          const o = outBase64 + i * halfOutStride;
          for (let d = 0; d < halfDim; d++) out64[o + d] = src[b + d]!;
        } else {
          const src = this.data[blockShard[i - start]!]!;
          const b = row * stride;
          const o = outOffset + i * outStride;
          for (let d = 0; d < dim; d++) out[o + d] = src[b + d]!;
        }
      }
    }
    this.prefetchSink = sink;
  }

  gatherPooled(m: MultiIds, mode: 'sum' | 'mean', out: Float32Array, outStride: number, outOffset: number): void {
    const n = checkMultiIds(this.name, m);
    checkLayout(this.name, this.dim, 'gatherPooled output', n, out.length, outStride, outOffset);
    this.refreshViews();
    const { ids, offsets, weights } = m;
    const { idMap, stride, dim, rows, shards } = this;
    const init = this.initScratch;
    for (let i = 0; i < n; i++) {
      const o = outOffset + i * outStride;
      for (let d = 0; d < dim; d++) out[o + d] = 0;
      let weightSum = 0;
      for (let j = offsets[i]!, end = offsets[i + 1]!; j < end; j++) {
        const id = ids[j]!;
        if (id >>> 0 >= rows) badId(this.name, this.rows, id);
        const w = weights === undefined ? 1 : weights[j]!;
        weightSum += w;
        const row = idMap[2 * id]! - 1;
        if (row >= 0) {
          const data = this.data[id % shards]!;
          const b = row * stride;
          for (let d = 0; d < dim; d++) out[o + d] += w * data[b + d]!;
        } else {
          writeInitialRow(this.seedKey, id, this.initStd, dim, init, 0);
          for (let d = 0; d < dim; d++) out[o + d] += w * init[d]!;
        }
      }
      if (mode === 'mean') {
        const scale = weightSum === 0 ? 0 : 1 / weightSum;
        for (let d = 0; d < dim; d++) out[o + d] *= scale;
      }
    }
  }

  /** EmbeddingTable.update, restricted to the rows this instance owns (all shards in turn for owner -1). */
  update(ids: Int32Array, grad: Float32Array, gradStride: number, gradOffset: number): void {
    const n = ids.length;
    checkLayout(this.name, this.dim, 'update gradient', n, grad.length, gradStride, gradOffset);
    for (let i = 0; i < n; i++) if (ids[i]! >>> 0 >= this.rows) badId(this.name, this.rows, ids[i]!);
    for (const s of this.ownedShards()) {
      this.beginStep(n);
      const { idMap, dim, shards, uniqueRows, gradSum, blockRows } = this;
      const counts = this.l2Frequency ? this.counts : undefined;
      let unique = 0;
      let sink = 0;
      for (let start = 0; start < n; start += PREFETCH_BLOCK) {
        const end = Math.min(n, start + PREFETCH_BLOCK);
        // Touch pass: the positions of this shard's ids in the block, and their id-map entries
        // loaded with independent loads (as EmbeddingTable.update) so the cache misses overlap.
        let owned = 0;
        for (let i = start; i < end; i++) {
          const id = ids[i]!;
          if (id % shards !== s) continue;
          blockRows[owned++] = i;
          sink += idMap[2 * id]!;
        }
        // Resolve pass: find or open each id's slot and sum its gradient there.
        for (let k = 0; k < owned; k++) {
          const i = blockRows[k]!;
          const id = ids[i]!;
          let row = idMap[2 * id]! - 1;
          if (row < 0) row = this.materialise(id, s);
          if (counts !== undefined) counts[s]![row]!++;
          let slot = idMap[2 * id + 1]!;
          const g = gradOffset + i * gradStride;
          if (slot < unique && slot >= 0 && uniqueRows[slot] === row) {
            const a = slot * dim;
            for (let d = 0; d < dim; d++) gradSum[a + d] += grad[g + d]!;
          } else {
            slot = unique++;
            idMap[2 * id + 1] = slot;
            uniqueRows[slot] = row;
            const a = slot * dim;
            for (let d = 0; d < dim; d++) gradSum[a + d] = grad[g + d]!;
          }
        }
      }
      this.prefetchSink = sink;
      this.uniqueCount = unique;
      this.finishStep(s);
    }
  }

  /** EmbeddingTable.updatePooled, restricted to the rows this instance owns. */
  updatePooled(m: MultiIds, mode: 'sum' | 'mean', grad: Float32Array, gradStride: number, gradOffset: number): void {
    const n = checkMultiIds(this.name, m);
    checkLayout(this.name, this.dim, 'updatePooled gradient', n, grad.length, gradStride, gradOffset);
    const { ids, offsets, weights } = m;
    for (let j = offsets[0]!; j < offsets[n]!; j++) if (ids[j]! >>> 0 >= this.rows) badId(this.name, this.rows, ids[j]!);
    const { dim, shards } = this;
    for (const s of this.ownedShards()) {
      this.beginStep(offsets[n]! - offsets[0]!);
      for (let i = 0; i < n; i++) {
        const start = offsets[i]!;
        const end = offsets[i + 1]!;
        const scale = pooledGradScale(mode, weights, start, end);
        if (scale === 0) continue; // the forward pass output zeros: no gradient reaches the rows
        const g = gradOffset + i * gradStride;
        for (let j = start; j < end; j++) {
          const id = ids[j]!;
          if (id % shards !== s) continue;
          const coef = weights === undefined ? scale : scale * weights[j]!;
          const a = this.slotOf(id, s) * dim;
          const sum = this.gradSum;
          for (let d = 0; d < dim; d++) sum[a + d] += coef * grad[g + d]!;
        }
      }
      this.finishStep(s);
    }
  }

  denseWeights(): Float32Array {
    this.refreshViews();
    const { rows, dim, stride, shards } = this;
    const out = new Float32Array(rows * dim);
    for (let id = 0; id < rows; id++) {
      const row = this.idMap[2 * id]! - 1;
      if (row >= 0) out.set(this.data[id % shards]!.subarray(row * stride, row * stride + dim), id * dim);
      else writeInitialRow(this.seedKey, id, this.initStd, dim, out, id * dim);
    }
    return out;
  }

  /** EmbeddingTable's save format; rows shard by shard, each shard's in its storage order. */
  save(): SavedEmbeddingTable {
    this.refreshViews();
    const { dim, stride, stateWords, shards } = this;
    const base = new Int32Array(shards + 1);
    for (let s = 0; s < shards; s++) base[s + 1] = base[s]! + this.allocated[s]!;
    const total = base[shards]!;
    const idOfRow = new Int32Array(total);
    for (let id = 0; id < this.rows; id++) {
      const row = this.idMap[2 * id]! - 1;
      if (row >= 0) idOfRow[base[id % shards]! + row] = id;
    }
    const weights = new Float32Array(total * dim);
    const state = new Int32Array(total * stateWords);
    const counts = new Int32Array(this.l2Frequency ? total : 0);
    for (let s = 0; s < shards; s++) {
      for (let row = 0; row < this.allocated[s]!; row++) {
        const at = base[s]! + row;
        const b = row * stride;
        weights.set(this.data[s]!.subarray(b, b + dim), at * dim);
        state.set(this.dataI32[s]!.subarray(b + dim, b + dim + stateWords), at * stateWords);
        if (this.l2Frequency) counts[at] = this.counts[s]![row]!;
      }
    }
    return {
      meta: {
        format: SAVE_FORMAT, name: this.name, rows: this.rows, dim, optimizer: this.optimizerConfig, initStd: this.initStd, seed: this.seed,
        l2: this.l2, l2Frequency: this.l2Frequency, allocatedRows: total, stateWords,
      },
      buffers: { ids: toBytes(idOfRow), weights: toBytes(weights), state: toBytes(state), ...(this.l2Frequency ? { counts: toBytes(counts) } : {}) },
    };
  }

  /**
   * Replace this table's rows (in place: the workers keep their handles) by a saved table of the
   * same settings, e.g. a checkpoint's (resume) or the best epoch's (early stopping). The saved
   * learning rate is taken over, as loading a table would.
   */
  importSaved(saved: SavedEmbeddingTable): void {
    const probe = EmbeddingTable.load(saved); // validates; its fields say which settings it has
    if (probe.name !== this.name || probe.rows !== this.rows || probe.dim !== this.dim || probe.initStd !== this.initStd || probe.seed !== this.seed ||
      probe.l2 !== this.l2 || probe.l2Frequency !== this.l2Frequency || probe.optimizerConfig.type !== this.optimizer.config.type) {
      throw new Error(`shared embedding table '${this.name}': the saved table '${probe.name}' has other settings`);
    }
    const allocated = saved.meta.allocatedRows as number;
    const what = `embedding table '${this.name}'`;
    const idOfRow = int32FromBytes(saved.buffers.ids!, allocated, `${what} ids`);
    const weights = float32FromBytes(saved.buffers.weights!, allocated * this.dim, `${what} weights`);
    const state = int32FromBytes(saved.buffers.state!, allocated * this.stateWords, `${what} state`);
    const counts = this.l2Frequency ? int32FromBytes(saved.buffers.counts!, allocated, `${what} counts`) : undefined;
    this.idMap.fill(0);
    this.allocated.fill(0);
    this.refreshViews();
    const { dim, stride, stateWords, shards } = this;
    for (let r = 0; r < allocated; r++) {
      const id = idOfRow[r]!;
      const s = id % shards;
      const row = this.allocateRow(s);
      const b = row * stride;
      this.data[s]!.set(weights.subarray(r * dim, (r + 1) * dim), b);
      this.dataI32[s]!.set(state.subarray(r * stateWords, (r + 1) * stateWords), b + dim);
      if (counts !== undefined) this.counts[s]![row] = counts[r]!;
      this.idMap[2 * id] = row + 1;
    }
    this.setLearningRate(probe.optimizerConfig.lr);
  }

  // ---- internals -------------------------------------------------------------------------

  private ownedShards(): number[] {
    return this.owner >= 0 ? [this.owner] : Array.from({ length: this.shards }, (_, s) => s);
  }

  /** Checks ids[start..end) and loads each one's row and shard into the block arrays (-1: untouched). */
  private touchIds(ids: Int32Array, start: number, end: number): void {
    const { idMap, blockRows, blockShard, rows, shards } = this;
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      if (id >>> 0 >= rows) badId(this.name, this.rows, id);
      blockRows[i - start] = idMap[2 * id]! - 1;
      blockShard[i - start] = id % shards;
    }
  }

  private slotOf(id: number, s: number): number {
    let row = this.idMap[2 * id]! - 1;
    if (row < 0) row = this.materialise(id, s);
    if (this.l2Frequency) this.counts[s]![row]!++;
    const slot = this.idMap[2 * id + 1]!;
    if (slot < this.uniqueCount && slot >= 0 && this.uniqueRows[slot] === row) return slot;
    const fresh = this.uniqueCount++;
    this.idMap[2 * id + 1] = fresh;
    this.uniqueRows[fresh] = row;
    this.gradSum.fill(0, fresh * this.dim, (fresh + 1) * this.dim);
    return fresh;
  }

  private beginStep(maxUnique: number): void {
    this.refreshViews();
    // The main thread may have changed the learning rate (a schedule) since this worker's last update.
    const lr = this.lrWord[0]!;
    if (this.optimizer.config.lr !== lr) this.optimizer.setLearningRate(lr);
    if (this.uniqueRows.length < maxUnique) {
      this.uniqueRows = new Int32Array(maxUnique);
      this.gradSum = new Float32Array(maxUnique * this.dim);
    }
    this.uniqueCount = 0;
  }

  /** Lazy L2, then one optimizer step per unique row of shard s (as EmbeddingTable.finishStep). */
  private finishStep(s: number): void {
    const { dim, stride, l2, uniqueCount, uniqueRows, gradSum } = this;
    const data = this.data[s]!;
    const dataI32 = this.dataI32[s]!;
    const lastWord = stride - 1;
    let sink = 0;
    for (let start = 0; start < uniqueCount; start += PREFETCH_BLOCK) {
      const end = Math.min(uniqueCount, start + PREFETCH_BLOCK);
      for (let k = start; k < end; k++) {
        const b = uniqueRows[k]! * stride;
        sink += dataI32[b]! ^ dataI32[b + lastWord]!;
      }
      if (l2 > 0) {
        const counts = this.l2Frequency ? this.counts[s] : undefined;
        for (let k = start; k < end; k++) {
          const row = uniqueRows[k]!;
          const b = row * stride;
          const decay = counts === undefined ? l2 : l2 / Math.max(1, counts[row]!);
          for (let d = 0; d < dim; d++) gradSum[k * dim + d] += decay * data[b + d]!;
        }
      }
      this.optimizer.applyRows({ data, dataI32, rowIndex: uniqueRows, start, end, grad: gradSum, dim, stride });
    }
    this.prefetchSink = sink;
  }

  private materialise(id: number, s: number): number {
    const row = this.allocateRow(s);
    const base = row * this.stride;
    writeInitialRow(this.seedKey, id, this.initStd, this.dim, this.data[s]!, base);
    this.optimizer.initRowState(this.data[s]!, this.dataI32[s]!, base, this.dim);
    this.idMap[2 * id] = row + 1;
    return row;
  }

  /** The next free row of shard s (the owner's only), growing the shard's buffers as needed. */
  private allocateRow(s: number): number {
    const row = this.allocated[s]!;
    const sab = this.h.data[s]!;
    const recordBytes = this.stride * 4;
    if ((row + 1) * recordBytes > sab.byteLength) {
      const maxRows = Math.floor(sab.maxByteLength / recordBytes);
      if (row + 1 > maxRows) {
        throw new UserError(`embedding table '${this.name}': shard ${s} of ${this.shards} is full (${maxRows} rows, the ${sab.maxByteLength} bytes one shared buffer may hold); use more workers`);
      }
      const rows = Math.min(maxRows, Math.max(FIRST_CAPACITY, 2 * Math.floor(sab.byteLength / recordBytes)));
      sab.grow(rows * recordBytes);
      if (this.l2Frequency) this.h.counts[s]!.grow(Math.min(this.h.counts[s]!.maxByteLength, rows * 4));
      this.remakeViews(s);
    }
    this.allocated[s] = row + 1;
    return row;
  }

  private refreshViews(): void {
    for (let s = 0; s < this.shards; s++) if (this.h.data[s]!.byteLength !== this.viewBytes[s]) this.remakeViews(s);
  }

  /** Fixed-length views of shard s's buffers at their current size. */
  private remakeViews(s: number): void {
    const sab = this.h.data[s]!;
    const bytes = sab.byteLength;
    this.data[s] = new Float32Array(sab, 0, bytes >> 2);
    this.dataI32[s] = new Int32Array(sab, 0, bytes >> 2);
    this.data64[s] = new Float64Array(sab, 0, bytes >> 3);
    const c = this.h.counts[s]!;
    this.counts[s] = new Int32Array(c, 0, c.byteLength >> 2);
    this.viewBytes[s] = bytes;
  }
}

/** How many of the ids 0..rows-1 have id mod shards = s. */
function shardRows(rows: number, shards: number, s: number): number {
  return s >= rows ? 0 : Math.floor((rows - 1 - s) / shards) + 1;
}


