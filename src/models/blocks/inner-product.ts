import { UserError } from '../../errors.js';
import type { Value } from '../../graph/graph.js';
import { glorotUniform } from '../param-init.js';
import type { BlockContext, FieldEmbeddings } from './block-context.js';

/** Which field slots (a field's name, or a model.field_groups group's name) form each side. */
export interface InnerProductConfig {
  user: string[];
  item: string[];
}

/**
 * An explicit user x item affinity term for a tower's logit: <u W_u, v W_v>, where u and v are
 * the concatenated embeddings of the user-side and item-side slots and W_u, W_v [n dim, dim] are
 * the tower's own projections (so pCTR and pCVR can weigh the shared embeddings differently).
 * A dot product is what an MLP over concatenated embeddings learns poorly (Rendle et al.,
 * RecSys 2020); this hands it to the tower directly. Returns [batch, 1].
 */
export function innerProductTerm(ctx: BlockContext, prefix: string, fields: FieldEmbeddings, cfg: InnerProductConfig, key: string): Value {
  const { g } = ctx;
  const side = (names: string[], which: 'user' | 'item'): { v: Value; width: number } => {
    if (names.length === 0) throw new UserError(`the ${which} side needs at least one field`, { key: `${key}.${which}` });
    const parts = names.map((n) => {
      const s = fields.slots?.indexOf(n) ?? -1;
      if (s < 0) throw new UserError(`'${n}' is not an embedded field or field group of the model (known: ${(fields.slots ?? []).join(', ')})`, { key: `${key}.${which}` });
      return g.slice(fields.value, 1, s * fields.dim, (s + 1) * fields.dim);
    });
    return { v: parts.length === 1 ? parts[0]! : g.concat(parts, 1), width: names.length * fields.dim };
  };
  const u = side(cfg.user, 'user');
  const v = side(cfg.item, 'item');
  const k = fields.dim;
  const wu = g.param(`${prefix}/Wu`, [u.width, k], glorotUniform(ctx.rng, u.width, k));
  const wv = g.param(`${prefix}/Wv`, [v.width, k], glorotUniform(ctx.rng, v.width, k));
  return g.reduceSum(g.mul(g.matmul(u.v, wu), g.matmul(v.v, wv)), [1], true);
}
