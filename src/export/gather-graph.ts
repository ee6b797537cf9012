/**
 * The front of an exported model: feature ids -> the gathered-embedding inputs (`emb_<group>`,
 * [batch, fields*dim]) the forward graph reads. Embedding tables become parameters (baked in as
 * initializers); lookups are ONNX Gather. Multi-valued fields are pooled as in training
 * (EmbeddingTable.gatherPooled): sum_j w_j row(id_j), divided by sum_j w_j for 'mean' (zeros
 * when the weights sum to 0, so padding with weight 0 changes nothing).
 *
 * An attention-pooled field (DIN) is not pooled here: its slot in `emb_<group>` is zeros (as
 * EmbeddingSet.gather leaves it in training); its sequence ids [batch, max_len] are gathered into
 * `seq/<group>/<field>` [batch, max_len, dim] and its mask goes through to `seqmask/<field>`, the
 * inputs the forward graph pools against the candidate item (what gatherSequence fills in training).
 */
import { Graph, type Value } from '../graph/graph.js';
import type { EmbeddingSet } from '../models/embeddings.js';
import type { FeatureLayout } from '../models/layout.js';
import { categoricalInputName, multiIdsInputName, multiWeightsInputName, sequenceIdsInputName, sequenceMaskInputName } from './inputs.js';

export interface GatherGraph {
  graph: Graph;
  /** Output name (`emb_<group>`) per embedding group, in the forward graph's input order. */
  outputs: string[];
}

/**
 * `pooling`: per multi-valued field (layout order) or one mode for all. `sequences`: max_len per
 * attention-pooled field (each such field must be 'attention' in `pooling`).
 */
export function buildGatherGraph(
  layout: FeatureLayout,
  embeddings: EmbeddingSet,
  groups: string[],
  pooling: 'sum' | 'mean' | ('sum' | 'mean' | 'attention')[],
  sequences: Record<string, number> = {},
): GatherGraph {
  const g = new Graph('esmm_gather');
  const dim = layout.dim;
  const modeOf = (m: number): 'sum' | 'mean' | 'attention' => (typeof pooling === 'string' ? pooling : pooling[m]!);
  const catIds = layout.categorical.map((f) => safeIds(g, g.input(categoricalInputName(f.name), ['batch'], 'int64'), f.size));
  const multi = layout.multiValued.map((f, m) => {
    const maxLen = sequences[f.name];
    if ((modeOf(m) === 'attention') !== (maxLen !== undefined)) throw new Error(`export: field '${f.name}' is pooled by ${modeOf(m)} but ${maxLen === undefined ? 'has no' : 'has a'} sequence length`);
    const len: number | string = maxLen ?? `len_${f.name}`;
    const ids = safeIds(g, g.input(maxLen !== undefined ? sequenceIdsInputName(f.name) : multiIdsInputName(f.name), ['batch', len], 'int64'), f.size);
    const weights = g.input(maxLen !== undefined ? sequenceMaskInputName(f.name) : multiWeightsInputName(f.name), ['batch', len], 'float32');
    return { ids, weights, len };
  });
  const outputs: string[] = [];
  // Attention masks: one `seqmask/<field>` per field, shared by the groups (as in the forward graph).
  layout.multiValued.forEach((f, m) => {
    if (modeOf(m) === 'attention') g.output(`seqmask/${f.name}`, g.identity(multi[m]!.weights));
  });
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
      const mode = modeOf(m);
      if (mode === 'attention') {
        // Zero rows where the mask is 0: padding, as gatherSequence leaves it (a masked item gets
        // attention weight 0 either way, so zeroing one with weight 0 changes nothing).
        const masked = g.unsqueeze(g.equal(weights, g.constant(0)), [2]);
        g.output(`seq/${group}/${f.name}`, g.where(masked, g.constant(0), rows));
        // The slot is zeros [batch, dim] (Expand of a [1, dim] zero row to [batch, 1]).
        parts.push(g.expandLike(g.constant(new Float32Array(dim), [1, dim]), g.reduceSum(weights, [1], true)));
        return;
      }
      const w = g.unsqueeze(weights, [2]);
      const sum = g.reduceSum(g.mul(rows, w), [1], false);
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
