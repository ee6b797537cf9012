/**
 * The front of an exported model: feature ids -> the gathered-embedding inputs (`emb_<group>`,
 * [batch, fields*dim]) the forward graph reads. Embedding tables become parameters (baked in as
 * initializers); lookups are ONNX Gather. Multi-valued fields are pooled as in training
 * (EmbeddingTable.gatherPooled): sum_j w_j row(id_j), divided by sum_j w_j for 'mean' (zeros
 * when the weights sum to 0, so padding with weight 0 changes nothing).
 */
import { Graph, type Value } from '../graph/graph.js';
import type { EmbeddingSet } from '../models/embeddings.js';
import type { FeatureLayout } from '../models/layout.js';
import { categoricalInputName, multiIdsInputName, multiWeightsInputName } from './inputs.js';

export interface GatherGraph {
  graph: Graph;
  /** Output name (`emb_<group>`) per embedding group, in the forward graph's input order. */
  outputs: string[];
}

/** `pooling`: per multi-valued field (layout order) or one mode for all. */
export function buildGatherGraph(layout: FeatureLayout, embeddings: EmbeddingSet, groups: string[], pooling: 'sum' | 'mean' | ('sum' | 'mean')[]): GatherGraph {
  const g = new Graph('esmm_gather');
  const dim = layout.dim;
  const catIds = layout.categorical.map((f) => safeIds(g, g.input(categoricalInputName(f.name), ['batch'], 'int64'), f.size));
  const multi = layout.multiValued.map((f) => {
    const len = `len_${f.name}`;
    const ids = safeIds(g, g.input(multiIdsInputName(f.name), ['batch', len], 'int64'), f.size);
    const weights = g.input(multiWeightsInputName(f.name), ['batch', len], 'float32');
    return { ids, weights, len };
  });
  const outputs: string[] = [];
  for (const group of groups) {
    const tables = embeddings.tables.get(group);
    if (tables === undefined) throw new Error(`export: no embedding tables for group '${group}'`);
    const parts: Value[] = [];
    layout.categorical.forEach((f, i) => {
      const table = g.param(`emb_table/${group}/${f.name}`, [f.size, dim], tables[i]!.denseWeights());
      parts.push(gather(g, table, catIds[i]!, ['batch', dim]));
    });
    layout.multiValued.forEach((f, m) => {
      const t = tables[layout.categorical.length + m]!;
      const table = g.param(`emb_table/${group}/${f.name}`, [f.size, dim], t.denseWeights());
      const { ids, weights, len } = multi[m]!;
      const rows = gather(g, table, ids, ['batch', len, dim]);
      const w = g.unsqueeze(weights, [2]);
      const sum = g.reduceSum(g.mul(rows, w), [1], false);
      const mode = typeof pooling === 'string' ? pooling : pooling[m]!;
      parts.push(mode === 'sum' ? sum : meanOf(g, sum, weights));
    });
    const out = parts.length === 1 ? parts[0]! : g.concat(parts, 1);
    const name = `emb_${group}`;
    g.output(name, out);
    outputs.push(name);
  }
  return { graph: g, outputs };
}

function gather(g: Graph, table: Value, ids: Value, shape: (number | string)[]): Value {
  return g.emit('Gather', [table, ids], [{ shape, dtype: table.dtype }], { axis: { kind: 'int', value: 0 } })[0]!;
}

/** Ids outside 0..size-1 (negative ones included, which Gather would index from the end) read the OOV row 0. */
function safeIds(g: Graph, ids: Value, size: number): Value {
  const zero = g.int64Constant([0]);
  const inRange = g.emit('And', [g.greaterOrEqual(ids, zero), g.greater(g.int64Constant([size]), ids)], [{ shape: [...ids.shape], dtype: 'bool' }])[0]!;
  return g.where(inRange, ids, zero);
}

/** sum / weightSum, or 0 where weightSum is 0 (as gatherPooled does). */
function meanOf(g: Graph, sum: Value, weights: Value): Value {
  const ws = g.reduceSum(weights, [1], true);
  const empty = g.equal(ws, g.constant(0));
  const safe = g.where(empty, g.constant(1), ws);
  return g.where(empty, g.constant(0), g.div(sum, safe));
}
