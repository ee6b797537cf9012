/**
 * A sparse embedding table in typed arrays, outside the ONNX graph.
 *
 * Per training step the trainer gathers the rows of a batch's ids into the graph's input, ORT
 * returns the gradient of that input, and `update` changes only the touched rows.
 *
 * Layout and choices (the gather + update pair is the hot spot of a training step):
 * - `idMap` (Int32Array of two words per id over the whole id space) holds, for each id, its
 *   materialised row + 1 (0 = untouched) and its slot in the current update (below): one cache
 *   line gives both. It starts all zero, so the OS backs untouched parts of the id space lazily.
 *   Rows are created on first UPDATE, in touch order, and stored as records of
 *   [weights | optimizer state] in one Float32Array that doubles (capped at `rows`), so a row's
 *   weights and state share cache lines.
 * - A gather of an untouched id writes the id's deterministic initial vector WITHOUT materialising
 *   it: evaluation and serving over unseen ids never grow the table. The initial vector depends
 *   only on (name, seed, id), so it is the same whether or when the row is materialised.
 * - Duplicate ids in a batch are summed before one optimizer step per row, without a Map: an
 *   id's slot word names its position in this step's `uniqueRows`; it is trusted only if
 *   `slot < uniqueCount && uniqueRows[slot] === row`, so stale slots never need clearing. The
 *   resolve pass thus touches only `idMap`; records are touched once, when the optimizer steps.
 * - `l2` adds l2 * w to the summed gradient of touched rows only (lazy weight decay), before the
 *   optimizer's step, so it works the same under every sparse optimizer. With `l2Frequency` the
 *   penalty of a row is l2 / n * w, n the row's occurrences in all updates so far (this one
 *   included): DIN's mini-batch aware regularisation (Zhou et al., KDD'18), which shrinks rare ids
 *   hard and frequent ids, whose gradients carry more evidence, lightly.
 */
import type { MultiIds } from '../data/batch.js';
import { UserError } from '../errors.js';
import { float32FromBytes, int32FromBytes, toBytes } from './bytes.js';
import { tableSeedKey, writeInitialRow } from './row-init.js';
import { createSparseOptimizer, DEFAULT_SPARSE_OPTIMIZER } from './create-sparse-optimizer.js';
import type { SparseOptimizer, SparseOptimizerConfig } from './sparse-optimizer.js';
import { pooledGradScale } from './pooled-grad-scale.js';
import { badId, checkLayout, checkMultiIds, recordStride } from './table-checks.js';

export interface EmbeddingTableOptions {
  name: string;
  /** Size of the id space: ids are 0..rows-1. */
  rows: number;
  dim: number;
  optimizer?: SparseOptimizerConfig;
  /** Standard deviation of the (approximately normal, bounded at 3.46 std) initial weights; default 0.01. */
  initStd?: number;
  /** Integer seed of the initial weights (default 0); mixed with `name`. */
  seed?: number;
  /** L2 penalty (weight decay) applied to touched rows at update time (default 0). */
  l2?: number;
  /** Divide each row's L2 penalty by its running occurrence count (frequency-aware L2). */
  l2Frequency?: boolean;
}

export interface SavedEmbeddingTable {
  meta: Record<string, unknown>;
  buffers: Record<string, Uint8Array>;
}

const SAVE_FORMAT = 'esmm.embedding-table/1';
const FIRST_CAPACITY = 1024;
/**
 * Rows per touch-then-work block. Copying a row right after its first load leaves the CPU few
 * cache misses in flight (measured 13 ms to gather 47k random rows); touching a block of rows
 * first with independent loads overlaps the misses (5 ms). 256 rows of records stay in L1/L2.
 */
const PREFETCH_BLOCK = 256;

export class EmbeddingTable {
  readonly name: string;
  readonly rows: number;
  readonly dim: number;
  readonly initStd: number;
  readonly seed: number;
  readonly l2: number;
  readonly l2Frequency: boolean;

  private readonly optimizer: SparseOptimizer;
  private readonly seedKey: number;
  /** 4-byte words per record: dim weights, optimizer state (+ one pad word, see constructor). */
  private readonly stride: number;
  private readonly stateWords: number;

  /** [2*id] = row + 1 (0: untouched), [2*id + 1] = slot in the current update (validated, never cleared). */
  private readonly idMap: Int32Array;
  private data: Float32Array = new Float32Array(0);
  private dataI32: Int32Array = new Int32Array(this.data.buffer);
  private data64: Float64Array = new Float64Array(this.data.buffer);
  private capacity = 0;
  private allocated = 0;
  /** Occurrences of each materialised row in all updates so far (kept only with l2Frequency). */
  private counts: Int32Array = new Int32Array(0);

  // Per-update scratch, grown on demand and reused across steps.
  private uniqueRows: Int32Array = new Int32Array(0);
  private gradSum: Float32Array = new Float32Array(0);
  private uniqueCount = 0;
  private readonly blockRows = new Int32Array(PREFETCH_BLOCK);
  /** Rows of a block of multi-valued ids (resolveBlock); longer than PREFETCH_BLOCK only for a row with more ids. */
  private multiRows = new Int32Array(PREFETCH_BLOCK);
  /** Written with the touch loads' combined value so the JIT cannot drop them as dead code. */
  private prefetchSink = 0;
  private readonly initScratch: Float32Array;

  constructor(opts: EmbeddingTableOptions) {
    if (typeof opts.name !== 'string') throw new UserError('embedding table needs a name');
    if (!Number.isInteger(opts.rows) || opts.rows < 1 || opts.rows > 0x7ffffffe) {
      throw new UserError(`embedding table '${opts.name}': rows must be an integer in 1..2^31-2, got ${opts.rows}`);
    }
    if (!Number.isInteger(opts.dim) || opts.dim < 1) {
      throw new UserError(`embedding table '${opts.name}': dim must be a positive integer, got ${opts.dim}`);
    }
    const initStd = opts.initStd ?? 0.01;
    if (!(Number.isFinite(initStd) && initStd >= 0)) {
      throw new UserError(`embedding table '${opts.name}': initStd must be >= 0, got ${initStd}`);
    }
    const seed = opts.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new UserError(`embedding table '${opts.name}': seed must be an integer, got ${seed}`);
    const l2 = opts.l2 ?? 0;
    if (!(Number.isFinite(l2) && l2 >= 0)) throw new UserError(`embedding table '${opts.name}': l2 must be >= 0, got ${l2}`);

    this.name = opts.name;
    this.rows = opts.rows;
    this.dim = opts.dim;
    this.initStd = initStd;
    this.seed = seed;
    this.l2 = l2;
    this.l2Frequency = opts.l2Frequency === true;
    this.optimizer = createSparseOptimizer(opts.optimizer ?? DEFAULT_SPARSE_OPTIMIZER);
    this.seedKey = tableSeedKey(opts.name, seed);
    this.stateWords = this.optimizer.stateWords(this.dim);
    this.stride = recordStride(this.dim, this.stateWords);
    this.idMap = new Int32Array(2 * this.rows);
    this.initScratch = new Float32Array(this.dim);
  }

  /** The optimizer configuration with defaults filled in and the current learning rate. */
  get optimizerConfig(): SparseOptimizerConfig {
    return { ...this.optimizer.config };
  }

  /** out[outOffset + i*outStride + d] = row(ids[i])[d]. Untouched ids read their initial vector. */
  gather(ids: Int32Array, out: Float32Array, outStride: number, outOffset: number): void {
    const n = ids.length;
    checkLayout(this.name, this.dim, 'gather output', n, out.length, outStride, outOffset);
    const data = this.data;
    const dataI32 = this.dataI32;
    const blockRows = this.blockRows;
    const stride = this.stride;
    const lastWord = this.stride - 1;
    const dim = this.dim;
    // Copy two floats at a time through float64 views when everything is 8-byte aligned (records
    // have an even stride whenever dim is even). The bits move unchanged: a pair of finite float32s
    // never forms a NaN double, and JavaScript does not flush denormals.
    const wide = (dim & 1) === 0 && (outStride & 1) === 0 && ((out.byteOffset >> 2) + outOffset) % 2 === 0;
    const misalign = out.byteOffset % 8; // 0 or 4
    const out64 = wide ? new Float64Array(out.buffer, out.byteOffset - misalign, (misalign + out.byteLength) >> 3) : undefined;
    const data64 = this.data64;
    const outBase64 = (misalign + 4 * outOffset) >> 3;
    const halfDim = dim >> 1;
    const halfStride = stride >> 1;
    const halfOutStride = outStride >> 1;
    let sink = 0;
    for (let start = 0; start < n; start += PREFETCH_BLOCK) {
      const end = Math.min(n, start + PREFETCH_BLOCK);
      // Touch passes: independent loads, so the CPU overlaps the cache misses of a whole block.
      this.touchIds(ids, start, end);
      for (let i = start; i < end; i++) {
        const row = blockRows[i - start];
        if (row >= 0) sink += dataI32[row * stride] ^ dataI32[row * stride + lastWord];
      }
      // Copy pass: the rows are now in cache.
      for (let i = start; i < end; i++) {
        const row = blockRows[i - start];
        if (row < 0) {
          writeInitialRow(this.seedKey, ids[i], this.initStd, dim, out, outOffset + i * outStride);
        } else if (out64 !== undefined) {
          const b = row * halfStride;
          const o = outBase64 + i * halfOutStride;
          for (let d = 0; d < halfDim; d++) out64[o + d] = data64[b + d];
        } else {
          const b = row * stride;
          const o = outOffset + i * outStride;
          for (let d = 0; d < dim; d++) out[o + d] = data[b + d];
        }
      }
    }
    this.prefetchSink = sink;
  }

  /**
   * Pooled multi-valued lookup: row i of the output is sum_j w_j * row(id_j) over row i's ids
   * (w_j = 1 without weights). 'mean' divides by sum_j w_j (the count without weights), as
   * TensorFlow's combiner does; an empty row, or one whose weights sum to 0, gives zeros.
   */
  gatherPooled(m: MultiIds, mode: 'sum' | 'mean', out: Float32Array, outStride: number, outOffset: number): void {
    const n = checkMultiIds(this.name, m);
    checkLayout(this.name, this.dim, 'gatherPooled output', n, out.length, outStride, outOffset);
    const { ids, offsets, weights } = m;
    const idMap = this.idMap;
    const data = this.data;
    const dataI32 = this.dataI32;
    const stride = this.stride;
    const dim = this.dim;
    const init = this.initScratch;
    let sink = 0;
    // Rows are pooled a block at a time (as many whole rows as fit in PREFETCH_BLOCK ids, at least
    // one): touch passes resolve and load the block's records with independent loads (see gather),
    // then the sums run in cache in exactly the order of the plain loop.
    for (let i0 = 0; i0 < n; ) {
      const i1 = this.rowBlockEnd(offsets, i0, n);
      const j0 = offsets[i0];
      const rowOf = this.resolveBlock(ids, j0, offsets[i1]);
      for (let k = 0, end = offsets[i1] - j0; k < end; k++) {
        const row = rowOf[k];
        if (row >= 0) sink += dataI32[row * stride] ^ dataI32[row * stride + dim - 1];
      }
      for (let i = i0; i < i1; i++) {
        const o = outOffset + i * outStride;
        for (let d = 0; d < dim; d++) out[o + d] = 0;
        let weightSum = 0;
        for (let j = offsets[i], end = offsets[i + 1]; j < end; j++) {
          const w = weights === undefined ? 1 : weights[j];
          weightSum += w;
          const row = rowOf[j - j0];
          if (row >= 0) {
            const b = row * stride;
            for (let d = 0; d < dim; d++) out[o + d] += w * data[b + d];
          } else {
            writeInitialRow(this.seedKey, ids[j], this.initStd, dim, init, 0);
            for (let d = 0; d < dim; d++) out[o + d] += w * init[d];
          }
        }
        if (mode === 'mean') {
          const scale = weightSum === 0 ? 0 : 1 / weightSum;
          for (let d = 0; d < dim; d++) out[o + d] *= scale;
        }
      }
      i0 = i1;
    }
    this.prefetchSink = sink;
  }

  /**
   * grad is laid out like gather's output. Gradients of duplicate ids are summed, then each
   * touched row gets ONE optimizer step. Untouched rows are materialised (at their initial vector)
   * first; all other rows stay bit-identical. `occurrences` (frequency-aware L2 only): ids[i]
   * stands for occurrences[i] occurrences, for a caller whose gradients are already summed per id
   * (a table store applying a round's pushes); without it each entry of ids counts once.
   */
  update(ids: Int32Array, grad: Float32Array, gradStride: number, gradOffset: number, occurrences?: Int32Array): void {
    const n = ids.length;
    checkLayout(this.name, this.dim, 'update gradient', n, grad.length, gradStride, gradOffset);
    if (occurrences !== undefined && occurrences.length !== n) throw new Error(`${this.name}: update has ${n} ids but ${occurrences.length} occurrence counts`);
    this.beginStep(n);
    const idMap = this.idMap;
    const uniqueRows = this.uniqueRows;
    const gradSum = this.gradSum;
    const dim = this.dim;
    let unique = 0;
    for (let start = 0; start < n; start += PREFETCH_BLOCK) {
      const end = Math.min(n, start + PREFETCH_BLOCK);
      // Touch pass (see gather): bring the ids' map entries into cache.
      this.touchIds(ids, start, end);
      // Resolve pass: find or open each id's slot and sum its gradient there.
      for (let i = start; i < end; i++) {
        const id = ids[i];
        let row = idMap[2 * id] - 1;
        if (row < 0) row = this.materialise(id);
        if (this.l2Frequency) this.counts[row] += occurrences === undefined ? 1 : occurrences[i];
        let slot = idMap[2 * id + 1];
        const g = gradOffset + i * gradStride;
        if (slot < unique && slot >= 0 && uniqueRows[slot] === row) {
          const a = slot * dim;
          for (let d = 0; d < dim; d++) gradSum[a + d] += grad[g + d];
        } else {
          slot = unique++;
          idMap[2 * id + 1] = slot;
          uniqueRows[slot] = row;
          const a = slot * dim;
          for (let d = 0; d < dim; d++) gradSum[a + d] = grad[g + d];
        }
      }
    }
    this.uniqueCount = unique;
    this.finishStep();
  }

  /** The gradient scatter of gatherPooled (same mode and weights), then one step per touched row. */
  updatePooled(m: MultiIds, mode: 'sum' | 'mean', grad: Float32Array, gradStride: number, gradOffset: number): void {
    const n = checkMultiIds(this.name, m);
    checkLayout(this.name, this.dim, 'updatePooled gradient', n, grad.length, gradStride, gradOffset);
    const { ids, offsets, weights } = m;
    this.beginStep(offsets[n] - offsets[0]); // offsets are checked to rise, so this bounds the unique count
    const dim = this.dim;
    // A block of rows at a time (see gatherPooled): the touch pass brings the ids' map entries
    // into cache, then slots are resolved and gradients summed in the plain loop's order.
    for (let i0 = 0; i0 < n; ) {
      const i1 = this.rowBlockEnd(offsets, i0, n);
      this.resolveBlock(ids, offsets[i0], offsets[i1]);
      for (let i = i0; i < i1; i++) {
        const start = offsets[i];
        const end = offsets[i + 1];
        const scale = pooledGradScale(mode, weights, start, end);
        if (scale === 0) continue; // the forward pass output zeros: no gradient reaches the rows
        const g = gradOffset + i * gradStride;
        for (let j = start; j < end; j++) {
          const coef = weights === undefined ? scale : scale * weights[j];
          const a = this.slotOf(ids[j]) * dim;
          const sum = this.gradSum;
          for (let d = 0; d < dim; d++) sum[a + d] += coef * grad[g + d];
        }
      }
      i0 = i1;
    }
    this.finishStep();
  }

  setLearningRate(lr: number): void {
    if (!(Number.isFinite(lr) && lr >= 0)) throw new UserError(`learning rate must be a finite number >= 0, got ${lr}`);
    this.optimizer.setLearningRate(lr);
  }

  /** 4-byte words of optimizer state per row (the `state` layout of save, readRows and writeRows). */
  get rowStateWords(): number {
    return this.stateWords;
  }

  /**
   * Copies the rows of `ids` out: weights [n x dim] and optimizer state words [n x rowStateWords]
   * (bit-exact). present[i] = 1 when the row is materialised; otherwise its weights are the
   * initial vector and its state is left as it was in `state`. For row stores outside the process
   * (src/distributed), which keep a table like this one as the reference or as a local cache.
   * `counts` (l2Frequency tables): each row's occurrence count, 0 for a row never updated.
   */
  readRows(ids: Int32Array, weights: Float32Array, state: Int32Array, present: Uint8Array, counts?: Int32Array): void {
    const { dim, stride, stateWords } = this;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id >>> 0 >= this.rows) badId(this.name, this.rows, id);
      const row = this.idMap[2 * id] - 1;
      present[i] = row >= 0 ? 1 : 0;
      if (counts !== undefined) counts[i] = row >= 0 && this.l2Frequency ? this.counts[row]! : 0;
      if (row < 0) {
        writeInitialRow(this.seedKey, id, this.initStd, dim, weights, i * dim);
        continue;
      }
      const b = row * stride;
      weights.set(this.data.subarray(b, b + dim), i * dim);
      state.set(this.dataI32.subarray(b + dim, b + dim + stateWords), i * stateWords);
    }
  }

  /**
   * Overwrites the rows of `ids` (materialising them first) with weights [n x dim] and state words
   * [n x rowStateWords], bit-exact; every other row is unchanged. The inverse of readRows; `counts`
   * sets the occurrence counts of an l2Frequency table too.
   */
  writeRows(ids: Int32Array, weights: Float32Array, state: Int32Array, counts?: Int32Array): void {
    const { dim, stride, stateWords } = this;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id >>> 0 >= this.rows) badId(this.name, this.rows, id);
      let row = this.idMap[2 * id] - 1;
      if (row < 0) row = this.materialise(id);
      const b = row * stride;
      this.data.set(weights.subarray(i * dim, (i + 1) * dim), b);
      this.dataI32.set(state.subarray(i * stateWords, (i + 1) * stateWords), b + dim);
      if (counts !== undefined && this.l2Frequency) this.counts[row] = counts[i]!;
    }
  }

  /** Rows materialised so far. */
  allocatedRows(): number {
    return this.allocated;
  }

  /** Bytes held: id map, row records (weights + optimizer state + slot, incl. spare capacity), scratch. */
  byteSize(): number {
    return (
      this.idMap.byteLength +
      this.data.byteLength +
      this.counts.byteLength +
      this.uniqueRows.byteLength +
      this.blockRows.byteLength +
      this.gradSum.byteLength +
      this.initScratch.byteLength
    );
  }

  /** The whole table as a dense [rows x dim] array; untouched rows at their deterministic init. */
  denseWeights(): Float32Array {
    const { rows, dim, stride } = this;
    const out = new Float32Array(rows * dim);
    for (let id = 0; id < rows; id++) {
      const row = this.idMap[2 * id] - 1;
      if (row >= 0) {
        const b = row * stride;
        for (let d = 0; d < dim; d++) out[id * dim + d] = this.data[b + d];
      } else {
        writeInitialRow(this.seedKey, id, this.initStd, dim, out, id * dim);
      }
    }
    return out;
  }

  /**
   * Weights and optimizer state of the materialised rows, in row order (so a loaded table goes on
   * exactly as this one would): buffers `ids` (int32 id of each row), `weights` (float32
   * [allocated x dim]) and `state` (4-byte words [allocated x stateWords], bit-exact).
   */
  save(): SavedEmbeddingTable {
    const { dim, stride, allocated } = this;
    const stateWords = this.stateWords;
    const idOfRow = new Int32Array(allocated);
    for (let id = 0; id < this.rows; id++) {
      const row = this.idMap[2 * id] - 1;
      if (row >= 0) idOfRow[row] = id;
    }
    const weights = new Float32Array(allocated * dim);
    const state = new Int32Array(allocated * stateWords);
    for (let row = 0; row < allocated; row++) {
      const b = row * stride;
      weights.set(this.data.subarray(b, b + dim), row * dim);
      state.set(this.dataI32.subarray(b + dim, b + dim + stateWords), row * stateWords);
    }
    return {
      meta: {
        format: SAVE_FORMAT,
        name: this.name,
        rows: this.rows,
        dim,
        optimizer: this.optimizerConfig,
        initStd: this.initStd,
        seed: this.seed,
        l2: this.l2,
        l2Frequency: this.l2Frequency,
        allocatedRows: allocated,
        stateWords,
      },
      buffers: {
        ids: toBytes(idOfRow), weights: toBytes(weights), state: toBytes(state),
        ...(this.l2Frequency ? { counts: toBytes(this.counts.slice(0, allocated)) } : {}),
      },
    };
  }

  static load(saved: SavedEmbeddingTable): EmbeddingTable {
    const { meta, buffers } = saved;
    if (meta.format !== SAVE_FORMAT) throw new UserError(`not an embedding table checkpoint (format ${String(meta.format)})`);
    const table = new EmbeddingTable({
      name: meta.name as string,
      rows: meta.rows as number,
      dim: meta.dim as number,
      optimizer: meta.optimizer as SparseOptimizerConfig,
      initStd: meta.initStd as number,
      seed: meta.seed as number,
      l2: meta.l2 as number,
      l2Frequency: meta.l2Frequency === true,
    });
    const allocated = meta.allocatedRows as number;
    const stateWords = table.stateWords;
    if (!Number.isInteger(allocated) || allocated < 0 || allocated > table.rows || meta.stateWords !== stateWords) {
      throw new UserError(`embedding table '${table.name}': inconsistent checkpoint metadata`);
    }
    const what = `embedding table '${table.name}'`;
    const need = (key: string): Uint8Array => {
      const b = buffers[key];
      if (!(b instanceof Uint8Array)) throw new UserError(`${what}: checkpoint lacks buffer '${key}'`);
      return b;
    };
    const idOfRow = int32FromBytes(need('ids'), allocated, `${what} ids`);
    const weights = float32FromBytes(need('weights'), allocated * table.dim, `${what} weights`);
    const state = int32FromBytes(need('state'), allocated * stateWords, `${what} state`);
    table.reserve(allocated);
    const { dim, stride } = table;
    for (let row = 0; row < allocated; row++) {
      const id = idOfRow[row];
      if (id >>> 0 >= table.rows || table.idMap[2 * id] !== 0) {
        throw new UserError(`${what}: checkpoint has a bad or repeated id ${id}`);
      }
      table.idMap[2 * id] = row + 1;
      const b = row * stride;
      table.data.set(weights.subarray(row * dim, (row + 1) * dim), b);
      table.dataI32.set(state.subarray(row * stateWords, (row + 1) * stateWords), b + dim);
    }
    if (table.l2Frequency) table.counts.set(int32FromBytes(need('counts'), allocated, `${what} counts`));
    table.allocated = allocated;
    return table;
  }

  // ---- internals -------------------------------------------------------------------------

  /**
   * Touch pass over ids[start..end) (at most PREFETCH_BLOCK of them): checks each id and loads its
   * map entry into blockRows (its row, or -1 when not materialised). The loads are independent, so
   * the CPU overlaps the cache misses of the whole block.
   */
  private touchIds(ids: Int32Array, start: number, end: number): void {
    const { idMap, blockRows, rows } = this;
    for (let i = start; i < end; i++) {
      const id = ids[i];
      if (id >>> 0 >= rows) badId(this.name, this.rows, id);
      blockRows[i - start] = idMap[2 * id] - 1;
    }
  }

  /** End of the row block starting at i0: as many whole rows as fit in PREFETCH_BLOCK ids, at least one. */
  private rowBlockEnd(offsets: Int32Array, i0: number, n: number): number {
    let i1 = i0 + 1;
    while (i1 < n && offsets[i1 + 1] - offsets[i0] <= PREFETCH_BLOCK) i1++;
    return i1;
  }

  /**
   * Touch pass over ids[j0..j1) of a multi-valued batch: checks each id and loads its map entry;
   * returns the ids' rows (-1: not materialised) from index 0, in a scratch grown on demand.
   */
  private resolveBlock(ids: Int32Array, j0: number, j1: number): Int32Array {
    if (this.multiRows.length < j1 - j0) this.multiRows = new Int32Array(j1 - j0);
    const { idMap, multiRows, rows } = this;
    for (let j = j0; j < j1; j++) {
      const id = ids[j];
      if (id >>> 0 >= rows) badId(this.name, this.rows, id);
      multiRows[j - j0] = idMap[2 * id] - 1;
    }
    return multiRows;
  }

  /** Slot of `id`'s row in this step's unique list, materialising the row and opening a slot as needed. */
  private slotOf(id: number): number {
    if (id >>> 0 >= this.rows) badId(this.name, this.rows, id);
    let row = this.idMap[2 * id] - 1;
    if (row < 0) row = this.materialise(id);
    if (this.l2Frequency) this.counts[row]++;
    const slot = this.idMap[2 * id + 1];
    if (slot < this.uniqueCount && slot >= 0 && this.uniqueRows[slot] === row) return slot;
    const fresh = this.uniqueCount++;
    this.idMap[2 * id + 1] = fresh;
    this.uniqueRows[fresh] = row;
    this.gradSum.fill(0, fresh * this.dim, (fresh + 1) * this.dim);
    return fresh;
  }

  private beginStep(maxUnique: number): void {
    if (this.uniqueRows.length < maxUnique) {
      this.uniqueRows = new Int32Array(maxUnique);
      this.gradSum = new Float32Array(maxUnique * this.dim);
    }
    this.uniqueCount = 0;
  }

  /** Lazy L2, then one optimizer step per unique row, a block at a time (touch, then step). */
  private finishStep(): void {
    const { dim, stride, l2, uniqueCount, uniqueRows, gradSum, data, dataI32 } = this;
    const lastWord = stride - 1;
    let sink = 0;
    for (let start = 0; start < uniqueCount; start += PREFETCH_BLOCK) {
      const end = Math.min(uniqueCount, start + PREFETCH_BLOCK);
      for (let k = start; k < end; k++) {
        const b = uniqueRows[k] * stride;
        sink += dataI32[b] ^ dataI32[b + lastWord];
      }
      if (l2 > 0) {
        const counts = this.l2Frequency ? this.counts : undefined;
        for (let k = start; k < end; k++) {
          const row = uniqueRows[k];
          const b = row * stride;
          const decay = counts === undefined ? l2 : l2 / Math.max(1, counts[row]);
          for (let d = 0; d < dim; d++) gradSum[k * dim + d] += decay * data[b + d];
        }
      }
      this.optimizer.applyRows({ data, dataI32, rowIndex: uniqueRows, start, end, grad: gradSum, dim, stride });
    }
    this.prefetchSink = sink;
  }

  private materialise(id: number): number {
    if (this.allocated === this.capacity) this.reserve(Math.min(this.rows, Math.max(FIRST_CAPACITY, this.capacity * 2)));
    const row = this.allocated++;
    const base = row * this.stride;
    writeInitialRow(this.seedKey, id, this.initStd, this.dim, this.data, base);
    this.optimizer.initRowState(this.data, this.dataI32, base, this.dim);
    this.idMap[2 * id] = row + 1;
    return row;
  }

  /** Grows record storage to at least `rows` rows (never shrinks). */
  private reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const data = new Float32Array(rows * this.stride);
    data.set(this.data.subarray(0, this.allocated * this.stride));
    this.data = data;
    this.dataI32 = new Int32Array(data.buffer);
    this.data64 = new Float64Array(data.buffer, 0, data.length >> 1);
    if (this.l2Frequency) {
      const counts = new Int32Array(rows);
      counts.set(this.counts.subarray(0, this.allocated));
      this.counts = counts;
    }
    this.capacity = rows;
  }
}
