import type { Value } from '../../graph/graph.js';
import { glorotUniform } from '../param-init.js';
import { activate } from './dense.js';
import type { BlockContext } from './block-context.js';

/** Hidden width of DIN's local activation unit. */
const UNIT_HIDDEN = 36;

/**
 * DIN target attention (Zhou et al., KDD'18, eq. 3): v_U(A) = sum_j a(e_j, v_A) e_j, with the local
 * activation unit a() an MLP over [e_j, v_A, e_j - v_A, e_j * v_A] and, as in the paper, no softmax
 * (the weights keep the intensity of interest). Padded positions (mask 0) get weight 0.
 *   keys [batch, L, dim] (a multi-valued field's per-item embeddings, zero padded to L),
 *   mask [batch, L], query [batch, dim] (the candidate item's embedding). Returns [batch, dim].
 */
export function attentionPool(ctx: BlockContext, prefix: string, keys: Value, mask: Value, query: Value, dim: number): Value {
  const { g } = ctx;
  const q = g.expandLike(g.unsqueeze(query, [1]), keys);
  const unitIn = g.concat([keys, q, g.sub(keys, q), g.mul(keys, q)], 2); // [batch, L, 4 dim]
  const h = activate(g, denseNd(ctx, `${prefix}/unit`, unitIn, 4 * dim, UNIT_HIDDEN), ctx.activation);
  const w = g.mul(denseNd(ctx, `${prefix}/unit_out`, h, UNIT_HIDDEN, 1), g.unsqueeze(mask, [2])); // [batch, L, 1]
  return g.reduceSum(g.mul(keys, w), [1]);
}

/** A dense layer over the last axis of a 3-D value (MatMul broadcasts the weight over [batch, L]). */
function denseNd(ctx: BlockContext, prefix: string, x: Value, inWidth: number, outWidth: number): Value {
  const w = ctx.g.param(`${prefix}/W`, [inWidth, outWidth], glorotUniform(ctx.rng, inWidth, outWidth));
  const b = ctx.g.param(`${prefix}/b`, [outWidth], new Float32Array(outWidth));
  return ctx.g.add(ctx.g.matmul(x, w), b);
}

