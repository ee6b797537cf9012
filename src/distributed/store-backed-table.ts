/**
 * An EmbeddingTable whose rows live in a TableStore: the local table is a cache that `pullBatch`
 * fills with the batch's rows before a step; `update` / `updatePooled` do NOT step the local
 * rows, they record each unique row's summed gradient (float32, summed in batch order exactly as
 * EmbeddingTable sums it) for `pushPending` to send to the store, which applies the optimizer.
 *
 * So the synchronous trainer (TrainStep, EmbeddingSet) runs unchanged: a worker swaps its
 * EmbeddingSet's tables for these and wraps each step in pull ... push (store-sync.ts).
 */
import type { MultiIds } from '../data/batch.js';
import { EmbeddingTable } from '../embedding/table.js';
import type { PushRequest, TableSpec } from './table-store.js';
import { pooledGradScale } from '../embedding/pooled-grad-scale.js';
import { badId } from '../embedding/table-checks.js';

/** One recorded update call: unique ids, their summed gradients and how often each occurred. */
interface Pending {
  ids: number[];
  grad: Float32Array;
  counts: number[];
}

export class StoreBackedTable extends EmbeddingTable {
  private pending: Pending[] = [];
  /** present flags of the last pull, by id (so a push sends the init vector of absent rows only). */
  private readonly lastPresent = new Map<number, number>();

  constructor(
    readonly spec: TableSpec,
    /** This table's index in the store's specs. */
    readonly index: number,
  ) {
    super({ name: spec.name, rows: spec.rows, dim: spec.dim, seed: spec.seed, initStd: spec.initStd, optimizer: spec.optimizer, l2: spec.l2, l2Frequency: spec.l2Frequency === true });
  }

  /** Writes pulled rows into the cache and remembers which were present in the store. */
  fill(ids: Int32Array, weights: Float32Array, state: Int32Array, present: Uint8Array): void {
    this.lastPresent.clear();
    for (let i = 0; i < ids.length; i++) this.lastPresent.set(ids[i]!, present[i]!);
    // Absent rows are NOT materialised: the cache returns their deterministic init on gather.
    let n = 0;
    for (let i = 0; i < ids.length; i++) if (present[i] === 1) n++;
    if (n === ids.length) {
      this.writeRows(ids, weights, state);
      return;
    }
    const sw = this.rowStateWords;
    const pid = new Int32Array(n);
    const pw = new Float32Array(n * this.dim);
    const ps = new Int32Array(n * sw);
    let k = 0;
    for (let i = 0; i < ids.length; i++) {
      if (present[i] !== 1) continue;
      pid[k] = ids[i]!;
      pw.set(weights.subarray(i * this.dim, (i + 1) * this.dim), k * this.dim);
      ps.set(state.subarray(i * sw, (i + 1) * sw), k * sw);
      k++;
    }
    this.writeRows(pid, pw, ps);
  }

  override update(ids: Int32Array, grad: Float32Array, gradStride: number, gradOffset: number): void {
    const dim = this.dim;
    const slots = new Map<number, number>();
    const order: number[] = [];
    const counts: number[] = [];
    const sum = new Float32Array(ids.length * dim);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id >>> 0 >= this.rows) badId(this.name, this.rows, id);
      const g = gradOffset + i * gradStride;
      let slot = slots.get(id);
      if (slot === undefined) {
        slot = order.length;
        slots.set(id, slot);
        order.push(id);
        counts.push(1);
        for (let d = 0; d < dim; d++) sum[slot * dim + d] = grad[g + d]!;
      } else {
        counts[slot]!++;
        for (let d = 0; d < dim; d++) sum[slot * dim + d] += grad[g + d]!;
      }
    }
    this.pending.push({ ids: order, grad: sum.subarray(0, order.length * dim), counts });
  }

  override updatePooled(m: MultiIds, mode: 'sum' | 'mean', grad: Float32Array, gradStride: number, gradOffset: number): void {
    const { ids, offsets, weights } = m;
    const n = offsets.length - 1;
    const dim = this.dim;
    const slots = new Map<number, number>();
    const order: number[] = [];
    const counts: number[] = [];
    const sum = new Float32Array(Math.max(0, offsets[n]! - offsets[0]!) * dim);
    for (let i = 0; i < n; i++) {
      const start = offsets[i]!;
      const end = offsets[i + 1]!;
      const scale = pooledGradScale(mode, weights, start, end);
      if (scale === 0) continue; // the forward pass output zeros: no gradient reaches the rows
      const g = gradOffset + i * gradStride;
      for (let j = start; j < end; j++) {
        const id = ids[j]!;
        if (id >>> 0 >= this.rows) badId(this.name, this.rows, id);
        const coef = weights === undefined ? scale : scale * weights[j]!;
        let slot = slots.get(id);
        if (slot === undefined) {
          slot = order.length;
          slots.set(id, slot);
          order.push(id);
          counts.push(0);
        }
        // Every occurrence in a bag that gets a gradient counts, as in EmbeddingTable.updatePooled.
        counts[slot]!++;
        for (let d = 0; d < dim; d++) sum[slot * dim + d] += coef * grad[g + d]!;
      }
    }
    this.pending.push({ ids: order, grad: sum.subarray(0, order.length * dim), counts });
  }

  /** The recorded updates as push requests (in call order), and clears them. */
  takePending(): PushRequest[] {
    const out = this.pending.map(({ ids, grad, counts }) => {
      const idArr = Int32Array.from(ids);
      const present = new Uint8Array(idArr.length);
      for (let i = 0; i < idArr.length; i++) present[i] = this.lastPresent.get(idArr[i]!) ?? 0;
      return { table: this.index, ids: idArr, grad, present, ...(this.l2Frequency ? { counts: Int32Array.from(counts) } : {}) };
    });
    this.pending = [];
    return out;
  }
}
