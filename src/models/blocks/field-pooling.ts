import type { Graph, Value } from '../../graph/graph.js';

/** The fields after pooling: slot names in order (a group's name or an ungrouped field's). */
export interface PooledFields {
  value: Value;
  slots: string[];
}

/**
 * Field-wise pooling (ESMM paper, Sec. 2.3 and Fig. 2, "field-wise pooling layer"): the embeddings
 * of the fields in one group are summed element-wise into a single slot; fields in no group keep
 * their own slot. A group's slot sits where its first field was. Computed as x P with a constant
 * 0/1 matrix P [F dim, F' dim], so the gradient is the matching scatter-add.
 */
export function poolFieldGroups(g: Graph, emb: Value, fields: string[], dim: number, groups: Record<string, string[]>): PooledFields {
  const groupOf = new Map<string, string>();
  for (const [name, members] of Object.entries(groups)) for (const f of members) groupOf.set(f, name);
  const slots: string[] = [];
  const slotOfField = fields.map((f) => {
    const slot = groupOf.get(f) ?? f;
    if (!slots.includes(slot)) slots.push(slot);
    return slots.indexOf(slot);
  });
  if (slots.length === fields.length) return { value: emb, slots };
  const cols = slots.length * dim;
  const p = new Float32Array(fields.length * dim * cols);
  slotOfField.forEach((s, f) => {
    for (let d = 0; d < dim; d++) p[(f * dim + d) * cols + s * dim + d] = 1;
  });
  return { value: g.matmul(emb, g.constant(p, [fields.length * dim, cols])), slots };
}
