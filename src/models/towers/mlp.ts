import type { Graph, Value } from '../../graph/graph.js';
import type { ActivationName } from '../../config/types.js';
import type { Rng } from '../../util/random.js';
import { glorotUniform, zeros } from '../init.js';

/** Context shared by every block that adds layers to a model graph. */
export interface BlockContext {
  g: Graph;
  rng: Rng;
  activation: ActivationName;
  /** Dropout rate; > 0 only in the training graph. */
  dropout: number;
  /** Registers a dropout mask input of the given width and returns it (training graph only). */
  dropoutMask: (name: string, width: number) => Value;
}

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
export function dense(ctx: BlockContext, prefix: string, x: Value, inWidth: number, outWidth: number): Value {
  const w = ctx.g.param(`${prefix}/W`, [inWidth, outWidth], glorotUniform(ctx.rng, inWidth, outWidth));
  const b = ctx.g.param(`${prefix}/b`, [outWidth], zeros(outWidth));
  return ctx.g.linear(x, w, b);
}

/** Hidden layers: dense -> activation -> dropout, for each size. Returns the last activation. */
export function mlp(ctx: BlockContext, prefix: string, x: Value, inWidth: number, sizes: number[]): { out: Value; width: number } {
  let h = x;
  let width = inWidth;
  sizes.forEach((size, i) => {
    h = activate(ctx.g, dense(ctx, `${prefix}/l${i}`, h, width, size), ctx.activation);
    if (ctx.dropout > 0) h = ctx.g.dropout(h, ctx.dropoutMask(`${prefix}/l${i}`, size), 1 - ctx.dropout);
    width = size;
  });
  return { out: h, width };
}

/** A tower: hidden MLP then a linear head to one logit [batch, 1]. */
export function mlpTower(ctx: BlockContext, name: string, x: Value, inWidth: number, sizes: number[]): Value {
  const { out, width } = mlp(ctx, `tower_${name}`, x, inWidth, sizes);
  return dense(ctx, `tower_${name}/head`, out, width, 1);
}
