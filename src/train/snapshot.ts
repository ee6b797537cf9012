import { EmbeddingTable } from '../embedding/table.js';
import type { EmbeddingStore } from '../embedding/embedding-store.js';
import type { FunnelModel } from '../models/model.js';

/** An in-memory copy of a model's weights (dense params and embedding tables), e.g. the best epoch. */
export interface ModelSnapshot {
  params: Map<string, Float32Array>;
  tables: Map<string, EmbeddingStore[]>;
}

export function snapshotModel(model: FunnelModel): ModelSnapshot {
  const params = new Map([...model.params].map(([k, v]) => [k, Float32Array.from(v)]));
  const tables = new Map([...model.embeddings.tables].map(([g, ts]) => [g, ts.map(cloneTable)]));
  return { params, tables };
}

/** Put a snapshot's weights back into the model (params in place, tables replaced by copies). */
export function restoreSnapshot(model: FunnelModel, s: ModelSnapshot): void {
  for (const [k, v] of s.params) model.params.get(k)!.set(v);
  for (const [g, ts] of s.tables) model.embeddings.tables.set(g, ts.map(cloneTable));
}

export function cloneTable(t: EmbeddingStore): EmbeddingTable {
  const saved = t.save();
  return EmbeddingTable.load({ meta: structuredClone(saved.meta), buffers: Object.fromEntries(Object.entries(saved.buffers).map(([k, b]) => [k, b.slice()])) });
}
