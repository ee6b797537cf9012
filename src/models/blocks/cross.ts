import type { Value } from '../../graph/graph.js';
import { dense } from './dense.js';
import type { BlockContext } from './block-context.js';

/**
 * DCN-v2 cross network (Wang et al., WWW 2021, eq. 1): x_{l+1} = x_0 * (W_l x_l + b_l) + x_l,
 * with a full-rank W_l [width, width] per layer. Each layer raises the degree of the feature
 * crosses by one (bounded-degree polynomial interactions an MLP approximates poorly). The output
 * keeps the input's width.
 */
export function crossNetwork(ctx: BlockContext, prefix: string, x0: Value, width: number, layers: number): Value {
  let x = x0;
  for (let l = 0; l < layers; l++) {
    const wx = dense(ctx, `${prefix}/cross${l}`, x, width, width);
    x = ctx.g.add(ctx.g.mul(x0, wx), x);
  }
  return x;
}

/** Default number of cross layers (the paper's best settings use 2 to 3). */
export const DEFAULT_CROSS_LAYERS = 2;
