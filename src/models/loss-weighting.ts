import type { Value } from '../graph/graph.js';
import type { ModelConfig } from '../config/types.js';
import type { BlockContext } from './blocks/block-context.js';
import type { NamedLoss } from './regularizers.js';

/** Parameter holding the learned log-variances s_k of uncertainty weighting, one per task loss. */
export const LOG_VARIANCE_PARAM = 'loss_weighting/log_var';

/**
 * The total loss from named terms and the fed `loss_weights` input w [nLosses] (fixed weights):
 * - fixed:       L = sum_k w_k L_k
 * - uncertainty: L = sum_{k task} w_k (exp(-s_k) L_k + s_k) + sum_{k penalty} w_k L_k, s_k learned
 *   (Kendall, Gal & Cipolla, CVPR'18, eq. 10 in the form exp(-s) L + s, s = log sigma^2);
 *   penalties (calibrator, imputation) can reach 0, where s would run off to -inf, so they keep
 *   their fixed weight.
 * - gradnorm: weights come from outside through the same input (train/gradnorm.ts), so the graph
 *   is the fixed-weight one.
 */
export function combineLosses(ctx: BlockContext, losses: NamedLoss[], weights: Value, mode: ModelConfig['loss_weighting']): Value {
  const { g } = ctx;
  const nTask = losses.filter((l) => l.task).length;
  const logVar = mode === 'uncertainty' && nTask > 0 ? g.param(LOG_VARIANCE_PARAM, [nTask], new Float32Array(nTask)) : undefined;
  let total: Value | undefined;
  let t = 0;
  losses.forEach((loss, k) => {
    let term = loss.value;
    if (logVar !== undefined && loss.task) {
      const s = g.reduceSum(g.slice(logVar, 0, t, t + 1), [0]);
      term = g.add(g.mul(g.exp(g.neg(s)), term), s);
      t++;
    }
    const weighted = g.reduceSum(g.mul(g.slice(weights, 0, k, k + 1), term), [0], false);
    total = total === undefined ? weighted : g.add(total, weighted);
  });
  return total!;
}
