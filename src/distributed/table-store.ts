/**
 * Where embedding rows live when they do not (only) live in this process: the table store
 * interface, and the in-process store that is today's EmbeddingTable behind it.
 *
 * The trainer's tables stay synchronous EmbeddingTables; a store is used around each step:
 *   1. pull the batch's unique ids of every table (weights + optimizer state) into a local table
 *      acting as a cache (store-backed-table.ts),
 *   2. run the step locally (gather reads the cache; update only records the summed gradient),
 *   3. push each unique row's summed gradient; the STORE applies the sparse optimizer to the row
 *      and its state, so concurrent workers never lose each other's update.
 * A row absent from the store starts from the table's deterministic initial vector (row-init.ts),
 * the same (name, seed, id) vector everywhere, so which worker creates it does not matter.
 */
import type { SparseOptimizerConfig } from '../embedding/sparse-optimizer.js';
import { EmbeddingTable } from '../embedding/table.js';

/** What a store must know of a table: EmbeddingTable's options. */
export interface TableSpec {
  name: string;
  rows: number;
  dim: number;
  seed: number;
  initStd: number;
  optimizer: SparseOptimizerConfig;
  l2: number;
  /**
   * Frequency-aware L2 (train.embedding_l2_frequency): the store keeps each row's occurrence count
   * beside its record and divides l2 by it, as EmbeddingTable does. Absent: false (specs written
   * before it existed).
   */
  l2Frequency?: boolean;
}

/** Unique ids of one table to read. */
export interface PullRequest {
  table: number;
  ids: Int32Array;
}

/** Rows read: weights [n x dim], state words [n x stateWords]; present[i] = 0 for a row never updated (init weights). */
export interface PulledRows {
  weights: Float32Array;
  state: Int32Array;
  present: Uint8Array;
}

/** One optimizer step for each of `ids` (unique) with its summed gradient grad [n x dim]. */
export interface PushRequest {
  table: number;
  ids: Int32Array;
  grad: Float32Array;
  /** present flags of the pull that preceded this push: absent rows carry their initial vector. */
  present?: Uint8Array;
  /**
   * How often each id occurred in the step (an l2Frequency table's count grows by it); absent:
   * once each. Ignored by tables without l2Frequency.
   */
  counts?: Int32Array;
}

/** All stored rows of one table, a block at a time (checkpoints, the final model). */
export interface RowBlock {
  ids: Int32Array;
  weights: Float32Array;
  state: Int32Array;
  /** Occurrence counts, for an l2Frequency table (absent otherwise). */
  counts?: Int32Array;
}

export interface TableStore {
  readonly specs: readonly TableSpec[];
  /**
   * `round`: the reader's round. A store that sums a round's pushes before applying them (Redis)
   * returns rows as of the end of round - 1; without it, with every push applied.
   */
  pull(requests: PullRequest[], round?: number): Promise<PulledRows[]>;
  /**
   * Pushes in order; two pushes of one table in one call are applied in that order. With `tag`
   * (a worker's round) a store may make the push idempotent (a repeat of a round is skipped) and
   * may sum the round's pushes of a row, from every worker, into one optimizer step applied when
   * the row is next read or pushed in a later round (Redis does).
   */
  push(requests: PushRequest[], tag?: { worker: number; round: number }): Promise<void>;
  /** The learning rate of every table's optimizer (schedules). */
  setLearningRate(lr: number): void;
  /** Every stored row of `table`, in no particular order. */
  scan(table: number): AsyncIterable<RowBlock>;
  close(): Promise<void>;
}

/** Optimizer state words per row (as EmbeddingTable stores them). */
export function stateWordsOf(spec: TableSpec): number {
  switch (spec.optimizer.type) {
    case 'sgd':
      return 0;
    case 'adagrad':
      return 1;
    case 'adam':
      return 2 * spec.dim + 1;
    case 'ftrl':
      return 2 * spec.dim;
  }
}

/** The spec of an existing table (to build a store for a model's tables). */
export function specOf(t: EmbeddingTable): TableSpec {
  // l2Frequency only when set, so that a spec without it reads as it did before it existed.
  return { name: t.name, rows: t.rows, dim: t.dim, seed: t.seed, initStd: t.initStd, optimizer: t.optimizerConfig, l2: t.l2, ...(t.l2Frequency ? { l2Frequency: true } : {}) };
}

/** A fresh EmbeddingTable with a spec's options (the local cache of a store-backed table, the reference in tests). */
export function tableOf(spec: TableSpec): EmbeddingTable {
  return new EmbeddingTable({ name: spec.name, rows: spec.rows, dim: spec.dim, seed: spec.seed, initStd: spec.initStd, optimizer: spec.optimizer, l2: spec.l2, l2Frequency: spec.l2Frequency === true });
}

/** Today's tables behind the store interface: one EmbeddingTable per spec, in this process. */
export class InProcessTableStore implements TableStore {
  readonly tables: EmbeddingTable[];

  constructor(readonly specs: readonly TableSpec[]) {
    this.tables = specs.map(tableOf);
  }

  async pull(requests: PullRequest[]): Promise<PulledRows[]> {
    return requests.map(({ table, ids }) => {
      const t = this.tables[table]!;
      const out = { weights: new Float32Array(ids.length * t.dim), state: new Int32Array(ids.length * t.rowStateWords), present: new Uint8Array(ids.length) };
      t.readRows(ids, out.weights, out.state, out.present);
      return out;
    });
  }

  async push(requests: PushRequest[]): Promise<void> {
    for (const { table, ids, grad, counts } of requests) {
      const t = this.tables[table]!;
      t.update(ids, grad, t.dim, 0, counts);
    }
  }

  setLearningRate(lr: number): void {
    for (const t of this.tables) t.setLearningRate(lr);
  }

  async *scan(table: number): AsyncIterable<RowBlock> {
    const saved = this.tables[table]!.save();
    const n = saved.meta.allocatedRows as number;
    const b = saved.buffers;
    yield {
      ids: new Int32Array(b.ids!.buffer.slice(b.ids!.byteOffset, b.ids!.byteOffset + 4 * n)),
      weights: new Float32Array(b.weights!.buffer.slice(b.weights!.byteOffset, b.weights!.byteOffset + b.weights!.byteLength)),
      state: new Int32Array(b.state!.buffer.slice(b.state!.byteOffset, b.state!.byteOffset + b.state!.byteLength)),
      ...(b.counts !== undefined ? { counts: new Int32Array(b.counts.buffer.slice(b.counts.byteOffset, b.counts.byteOffset + 4 * n)) } : {}),
    };
  }

  async close(): Promise<void> {
    // nothing held outside the process
  }
}
