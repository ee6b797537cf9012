import type { Bottom } from './bottom.js';
import { DEFAULT_EXPERT, experts, gatedMixture } from './experts.js';

/**
 * MMoE (Ma et al., KDD'18, eq. 5-6): n shared experts and one softmax gate per tower;
 * tower k reads f^k(x) = sum_i g^k(x)_i f_i(x). Settings: model.bottom.experts (default 4),
 * model.bottom.expert (each expert's MLP sizes).
 */
export const mmoeBottom: Bottom = ({ ctx, prefix, input, width, towers, cfg }) => {
  const ex = experts(ctx, `mmoe_${prefix}`, input, width, cfg.experts ?? 4, cfg.expert ?? DEFAULT_EXPERT);
  const perTower = new Map(towers.map((t) => [t, gatedMixture(ctx, `mmoe_${prefix}/${t}`, input, width, ex.outs)]));
  return { perTower, width: ex.width };
};
