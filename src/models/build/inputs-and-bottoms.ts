import { UserError } from '../../errors.js';
import type { Graph, Value } from '../../graph/graph.js';
import { ATTENTION_MAX_LEN, type ModelConfig } from '../../config/types.js';
import { embeddingGroups, type FunnelModelSpec } from '../funnel-spec.js';
import { embeddingWidth, type FeatureLayout } from '../layout.js';
import { getBottom } from '../bottoms/index.js';
import type { BlockContext, FieldEmbeddings } from '../blocks/block-context.js';
import { poolFieldGroups } from '../blocks/field-pooling.js';
import { attentionPool } from '../blocks/attention-pooling.js';

export const NUMERIC_INPUT = 'numeric';

/** An attention-pooled multi-valued field's inputs for one embedding group. */
export interface SeqInput {
  group: string;
  field: string;
  input: string;
  maskInput: string;
  maxLen: number;
}

/** The graph inputs of a model and, per embedding group, the bottom's output for each tower. */
export interface InputsAndBottoms {
  /** Gathered-embedding inputs, one per embedding group: name and width. */
  embInputs: { group: string; input: string; width: number }[];
  /** Their values, in the same order (what the gradients are taken with respect to). */
  embValues: Value[];
  seqInputs: SeqInput[];
  seqValues: Value[];
  /** The numeric input, when the layout has numeric features. */
  numeric: Value | undefined;
  bottoms: Map<string, { perTower: Map<string, Value>; width: number; fields: FieldEmbeddings }>;
}

/**
 * Per embedding group: gathered embeddings (input `emb_<group>`) -> DIN target attention for the
 * attention-pooled fields -> field-wise pooling -> [fields | numerics] -> the bottom (model.bottom),
 * which hands each tower of the group its input.
 */
export function buildInputsAndBottoms(ctx: BlockContext, spec: FunnelModelSpec, layout: FeatureLayout, cfg: ModelConfig): InputsAndBottoms {
  const { g } = ctx;
  const attention = attentionFields(cfg, layout);
  const width = embeddingWidth(layout);
  const fieldNames = [...layout.categorical, ...layout.multiValued].map((f) => f.name);
  const numeric = layout.numericDim > 0 ? g.input(NUMERIC_INPUT, ['batch', layout.numericDim]) : undefined;
  const out: InputsAndBottoms = { embInputs: [], embValues: [], seqInputs: [], seqValues: [], numeric, bottoms: new Map() };
  const seqMasks = new Map<string, Value>();

  for (const group of embeddingGroups(spec)) {
    const name = `emb_${group}`;
    const emb = g.input(name, ['batch', width]);
    out.embInputs.push({ group, input: name, width });
    out.embValues.push(emb);
    let withSeq = emb;
    for (const a of attention) {
      // DIN: the field's slot (zeros in emb) becomes the target-attention pooling of its items
      // against the candidate item's embedding (the target field's slot).
      const input = `seq/${group}/${a.field}`;
      const maskInput = `seqmask/${a.field}`;
      const keys = g.input(input, ['batch', a.maxLen, layout.dim]);
      let mask = seqMasks.get(maskInput);
      if (mask === undefined) {
        mask = g.input(maskInput, ['batch', a.maxLen]);
        seqMasks.set(maskInput, mask);
      }
      out.seqInputs.push({ group, field: a.field, input, maskInput, maxLen: a.maxLen });
      out.seqValues.push(keys);
      const query = g.slice(emb, 1, a.targetSlot * layout.dim, (a.targetSlot + 1) * layout.dim);
      const pooledSeq = attentionPool(ctx, `attention_${group}/${a.field}`, keys, mask, query, layout.dim);
      withSeq = replaceSlot(g, withSeq, a.slot, layout.dim, width, pooledSeq);
    }
    const pooled = poolFieldGroups(g, withSeq, fieldNames, layout.dim, cfg.field_groups);
    const fields: FieldEmbeddings = { value: pooled.value, count: pooled.slots.length, dim: layout.dim, slots: pooled.slots };
    const fieldsWidth = pooled.slots.length * layout.dim;
    const x = numeric === undefined ? pooled.value : g.concat([pooled.value, numeric], 1);
    const towers = spec.towers.filter((t) => t.embeddings === group).map((t) => t.name);
    const bottom = getBottom(cfg.bottom.type)({ ctx, prefix: group, input: x, width: fieldsWidth + layout.numericDim, towers, cfg: cfg.bottom });
    out.bottoms.set(group, { ...bottom, fields });
  }
  return out;
}

/**
 * The attention-pooled fields of model.pooling with their slot in emb_<group> and their target's
 * slot (sum/mean fields need nothing here: EmbeddingSet pools them in the gather).
 */
function attentionFields(cfg: ModelConfig, layout: FeatureLayout): { field: string; slot: number; targetSlot: number; maxLen: number }[] {
  const out: { field: string; slot: number; targetSlot: number; maxLen: number }[] = [];
  for (const [field, p] of Object.entries(cfg.pooling)) {
    const m = layout.multiValued.findIndex((f) => f.name === field);
    if (m < 0) throw new UserError(`'${field}' is not a multi-valued field of the model`, { key: `model.pooling.${field}` });
    if (p.type !== 'attention') continue;
    const t = layout.categorical.findIndex((f) => f.name === p.target);
    if (t < 0) throw new UserError(`'${p.target}' is not a single-valued categorical field (the candidate item)`, { key: `model.pooling.${field}.target` });
    out.push({ field, slot: layout.categorical.length + m, targetSlot: t, maxLen: p.max_len ?? ATTENTION_MAX_LEN });
  }
  return out;
}

/** x [batch, width] with columns [slot*dim, (slot+1)*dim) replaced by v [batch, dim]. */
function replaceSlot(g: Graph, x: Value, slot: number, dim: number, width: number, v: Value): Value {
  const parts: Value[] = [];
  if (slot > 0) parts.push(g.slice(x, 1, 0, slot * dim));
  parts.push(v);
  if ((slot + 1) * dim < width) parts.push(g.slice(x, 1, (slot + 1) * dim, width));
  return parts.length === 1 ? v : g.concat(parts, 1);
}
