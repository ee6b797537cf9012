import type { Graph, Value } from '../../graph/graph.js';
import type { ActivationName } from '../../config/types.js';
import { glorotUniform, zeros } from '../param-init.js';
import { layerNorm } from './layer-norm.js';
import type { BlockContext } from './block-context.js';

export function activate(g: Graph, x: Value, act: ActivationName): Value {
  switch (act) {
    case 'relu':
      return g.relu(x);
    case 'tanh':
      return g.tanh(x);
    case 'sigmoid':
      return g.sigmoid(x);
  }
}

/** One dense layer x W + b with fresh parameters named `${prefix}/W`, `${prefix}/b`. */
export function dense(ctx: BlockContext, prefix: string, x: Value, inWidth: number, outWidth: number, bias = true): Value {
  const w = ctx.g.param(`${prefix}/W`, [inWidth, outWidth], glorotUniform(ctx.rng, inWidth, outWidth));
  if (!bias) return ctx.g.linear(x, w);
  const b = ctx.g.param(`${prefix}/b`, [outWidth], zeros(outWidth));
  return ctx.g.linear(x, w, b);
}

/** Hidden layers: dense -> (layer norm) -> activation -> dropout, for each size. Returns the last activation. */
export function mlp(ctx: BlockContext, prefix: string, x: Value, inWidth: number, sizes: number[], norm: 'none' | 'layer' = 'none'): { out: Value; width: number } {
  let h = x;
  let width = inWidth;
  sizes.forEach((size, i) => {
    const name = `${prefix}/l${i}`;
    let pre = dense(ctx, name, h, width, size);
    if (norm === 'layer') pre = layerNorm(ctx, `${name}/ln`, pre, size);
    h = activate(ctx.g, pre, ctx.activation);
    if (ctx.dropout > 0) h = ctx.g.dropout(h, ctx.dropoutMask(name, size, ctx.dropout), 1 - ctx.dropout);
    width = size;
  });
  return { out: h, width };
}
