import type { Value } from '../../graph/graph.js';
import { dense, mlp } from '../blocks/dense.js';
import type { BlockContext } from '../blocks/block-context.js';

/** Default sizes of one expert's MLP (MMoE and PLE) when model.bottom.expert is not given. */
export const DEFAULT_EXPERT = [64];

/** n experts, each an MLP over x: returns their outputs [batch, w] and the common width w. */
export function experts(ctx: BlockContext, prefix: string, x: Value, width: number, n: number, sizes: number[]): { outs: Value[]; width: number } {
  const outs: Value[] = [];
  let w = width;
  for (let i = 0; i < n; i++) {
    const e = mlp(ctx, `${prefix}/expert${i}`, x, width, sizes);
    outs.push(e.out);
    w = e.width;
  }
  return { outs, width: w };
}

/**
 * A softmax gate over experts (MMoE, Ma et al. KDD'18, eq. 5-6): g(x) = softmax(x W_g), and the
 * gated mixture f(x) = sum_i g(x)_i f_i(x).
 */
export function gatedMixture(ctx: BlockContext, prefix: string, gateInput: Value, gateWidth: number, expertOuts: Value[]): Value {
  const { g } = ctx;
  if (expertOuts.length === 1) return expertOuts[0]!;
  const gate = g.softmax(dense(ctx, `${prefix}/gate`, gateInput, gateWidth, expertOuts.length), -1);
  const stacked = g.concat(expertOuts.map((e) => g.unsqueeze(e, [1])), 1); // [batch, n, w]
  return g.reduceSum(g.mul(stacked, g.unsqueeze(gate, [2])), [1]);
}
