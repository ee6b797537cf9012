/**
 * A model's EmbeddingSet over a TableStore: swap its tables for StoreBackedTables, then around
 * each step pull the batch's rows and push the recorded gradients; a full sync brings every
 * stored row into the local tables (validation, the final model directory).
 */
import type { Batch } from '../data/batch-assembler.js';
import type { EmbeddingSet } from '../models/embeddings.js';
import { UserError } from '../errors.js';
import { EmbeddingTable } from '../embedding/table.js';
import { StoreBackedTable } from './store-backed-table.js';
import { specOf, type TableSpec, type TableStore } from './table-store.js';

export interface StoreTables {
  /** Table i of the store is tables[i]; `where[i]` says which group and column it holds. */
  tables: StoreBackedTable[];
  specs: TableSpec[];
  /** For each table: its group and index within the group (the layout's categorical fields, then multi-valued). */
  where: { group: string; index: number }[];
}

/** Swaps every table of `embeddings` for a StoreBackedTable with the same options (in place). */
export function storeBackTables(embeddings: EmbeddingSet): StoreTables {
  const tables: StoreBackedTable[] = [];
  const specs: TableSpec[] = [];
  const where: { group: string; index: number }[] = [];
  for (const [group, list] of embeddings.tables) {
    const swapped = list.map((t, index) => {
      // A store worker is one process with one training thread; the shared-memory tables of
      // train.workers > 1 would be a second copy of the rows the store already shares.
      if (!(t instanceof EmbeddingTable)) throw new UserError('a table store (--store) trains with one worker thread per process; set train.workers: 1', { key: 'train.workers' });
      const spec = specOf(t);
      const st = new StoreBackedTable(spec, tables.length);
      tables.push(st);
      specs.push(spec);
      where.push({ group, index });
      return st;
    });
    embeddings.tables.set(group, swapped);
  }
  return { tables, specs, where };
}

/** Unique ids of a batch column (first-seen order). */
function uniqueIds(ids: Int32Array): Int32Array {
  const seen = new Set<number>();
  for (let i = 0; i < ids.length; i++) seen.add(ids[i]!);
  return Int32Array.from(seen);
}

/**
 * Ids of `batch` each table will read: a group's categorical field f reads column f, its
 * multi-valued field m reads m's ids (pooled or attention alike).
 */
export function batchIds(st: StoreTables, nCat: number, batch: Batch): Int32Array[] {
  return st.where.map(({ index }) => {
    if (index < nCat) return uniqueIds(batch.categorical[index]!.subarray(0, batch.size));
    const m = batch.multiValued[index - nCat]!;
    return uniqueIds(m.ids.subarray(m.offsets[0]!, m.offsets[batch.size]!));
  });
}

/** Before a step of `round`: the batch's rows, as of the end of the previous round, from the store into the local tables. */
export async function pullBatch(store: TableStore, st: StoreTables, nCat: number, batch: Batch, round?: number): Promise<void> {
  const ids = batchIds(st, nCat, batch);
  const pulled = await store.pull(ids.map((x, table) => ({ table, ids: x })), round);
  pulled.forEach((p, table) => st.tables[table]!.fill(ids[table]!, p.weights, p.state, p.present));
}

/** After a step: every recorded gradient to the store (which applies the optimizer). */
export async function pushPending(store: TableStore, st: StoreTables, tag?: { worker: number; round: number }): Promise<void> {
  const requests = st.tables.flatMap((t) => t.takePending());
  if (requests.length > 0) await store.push(requests, tag);
}

/** Every stored row into the local tables (rows never updated keep their deterministic init). */
export async function syncAll(store: TableStore, st: StoreTables): Promise<number> {
  let n = 0;
  for (let table = 0; table < st.tables.length; table++) {
    for await (const block of store.scan(table)) {
      st.tables[table]!.writeRows(block.ids, block.weights, block.state, block.counts);
      n += block.ids.length;
    }
  }
  return n;
}
