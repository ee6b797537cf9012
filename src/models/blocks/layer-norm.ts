import type { Value } from '../../graph/graph.js';
import type { BlockContext } from './block-context.js';

const EPS = 1e-5;

/**
 * Layer normalisation (Ba, Kiros & Hinton 2016, eq. 4) over the last axis of x [batch, width]:
 * y = gamma (x - mean) / sqrt(var + eps) + beta. Per-row statistics, so it works for any batch
 * size and behaves the same in training and inference.
 */
export function layerNorm(ctx: BlockContext, prefix: string, x: Value, width: number): Value {
  const { g } = ctx;
  const gamma = g.param(`${prefix}/gamma`, [width], new Float32Array(width).fill(1));
  const beta = g.param(`${prefix}/beta`, [width], new Float32Array(width));
  const centred = g.sub(x, g.reduceMean(x, [-1], true));
  const variance = g.reduceMean(g.mul(centred, centred), [-1], true);
  const normed = g.div(centred, g.sqrt(g.add(variance, g.constant(EPS))));
  return g.add(g.mul(normed, gamma), beta);
}
