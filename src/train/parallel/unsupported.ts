/**
 * What `train.workers: N > 1` cannot train the same as one worker (the sharded step refuses it in
 * one line naming train.workers). Every other loss term is a mean over the batch's rows, so the
 * batch gradient is sum_k (n_k / n) * the gradient of slice k; these are not:
 * - losses that are a mean over the batch's CLICKED rows (naive_cvr's cvr loss): the denominator
 *   is the batch's click count, so row shares are the wrong weights (the sharded step weights
 *   them by click share instead, term-shares.ts; the multi-host trainer refuses them);
 * - GradNorm: its task weights come from norms of the whole batch's per-task gradients, which do
 *   not add up across slices;
 * - ESCM2's self-normalised risks: divided by the batch's sum of inverse-propensity weights, for
 *   the same reason.
 * Also refused: a tower's own learning rate (model.towers.NAME.lr_scale): the striped dense update
 * has one learning rate for every parameter.
 */
import type { EsmmConfig } from '../../config/types.js';
import type { ModelGraph } from '../../models/build-graph.js';

/**
 * The reason `workers > 1` cannot train this model/config the same as 1 worker, or undefined.
 * `clickShares`: the trainer weights a mean over the batch's clicked rows by its slices' click
 * shares (the sharded step, term-shares.ts); the multi-host trainer weights by rows only.
 */
export function parallelUnsupported(mg: ModelGraph, config: EsmmConfig, clickShares = false): string | undefined {
  if ((mg.gradNorms ?? []).length > 0) return 'model.loss_weighting: gradnorm (its task weights need the whole batch\'s gradient norms)';
  const clicked = mg.spec.losses.find((l) => l.space === 'clicked');
  if (clicked !== undefined && !clickShares) return `model '${config.model.name}' (its loss '${clicked.name}' is a mean over the batch's clicked rows, which slices cannot weight by row share)`;
  const selfNormalized = (mg.spec.regularizers ?? []).find((r) => r.kind === 'ipw' || r.kind === 'dr');
  if (selfNormalized !== undefined && config.model.escm2.self_normalize) {
    return `model '${config.model.name}' with model.escm2.self_normalize (its risk divides by the batch's sum of propensity weights, which slices cannot weight by row share; set self_normalize: false)`;
  }
  const scaled = Object.entries(config.model.towers).find(([, t]) => t.lr_scale !== undefined && t.lr_scale !== 1);
  if (scaled !== undefined) return `model.towers.${scaled[0]}.lr_scale (the data-parallel dense update has one learning rate for every parameter)`;
  return undefined;
}
