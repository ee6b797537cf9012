import { EmbeddingTable } from '../embedding/table.js';
import type { FunnelModel } from '../models/model.js';

/** An in-memory copy of a model's weights (dense params and embedding tables), e.g. the best epoch. */
export interface ModelSnapshot {
  params: Map<string, Float32Array>;
  tables: Map<string, ReturnType<EmbeddingTable['save']>[]>;
}

export function snapshotModel(model: FunnelModel): ModelSnapshot {
  const params = new Map([...model.params].map(([k, v]) => [k, Float32Array.from(v)]));
  const tables = new Map([...model.embeddings.tables].map(([g, ts]) => [g, ts.map((t) => copySaved(t.save()))]));
  return { params, tables };
}

export function restoreSnapshot(model: FunnelModel, s: ModelSnapshot): void {
  for (const [k, v] of s.params) model.params.get(k)!.set(v);
  for (const [g, saved] of s.tables) model.embeddings.tables.set(g, saved.map((x) => EmbeddingTable.load(x)));
}

function copySaved(s: ReturnType<EmbeddingTable['save']>): ReturnType<EmbeddingTable['save']> {
  return { meta: structuredClone(s.meta), buffers: Object.fromEntries(Object.entries(s.buffers).map(([k, b]) => [k, b.slice()])) };
}
