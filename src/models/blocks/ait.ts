import type { Value } from '../../graph/graph.js';
import { glorotUniform } from '../param-init.js';
import { dense } from './dense.js';
import type { BlockContext } from './block-context.js';

/**
 * AITM's transfer + Adaptive Information Transfer module (Xi et al., KDD'21, eq. 2-5).
 * p_{t-1} = g_{t-1}(z_{t-1}) is the previous task's transferred information (one dense layer + ReLU),
 * q_t the current tower's hidden vector; for u in {p_{t-1}, q_t}:
 *   w_u = softmax_u(<h1(u), h2(u)> / sqrt(k)),   z_t = sum_u w_u h3(u)
 * with h1, h2, h3 linear maps to k dims shared by both u. Returns z_t [batch, k].
 */
export function aitModule(ctx: BlockContext, prefix: string, prev: Value, prevWidth: number, q: Value, width: number): Value {
  const { g } = ctx;
  const p = g.relu(dense(ctx, `${prefix}/transfer`, prev, prevWidth, width));
  const W1 = g.param(`${prefix}/h1`, [width, width], glorotUniform(ctx.rng, width, width));
  const W2 = g.param(`${prefix}/h2`, [width, width], glorotUniform(ctx.rng, width, width));
  const W3 = g.param(`${prefix}/h3`, [width, width], glorotUniform(ctx.rng, width, width));
  const scale = g.constant(1 / Math.sqrt(width));
  const score = (u: Value): Value => g.mul(g.reduceSum(g.mul(g.matmul(u, W1), g.matmul(u, W2)), [1], true), scale);
  const w = g.softmax(g.concat([score(p), score(q)], 1), -1); // [batch, 2]
  const [wp, wq] = g.split(w, 1, [1, 1]) as [Value, Value];
  return g.add(g.mul(wp, g.matmul(p, W3)), g.mul(wq, g.matmul(q, W3)));
}

