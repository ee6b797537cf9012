import { crossNetwork, DEFAULT_CROSS_LAYERS } from '../blocks/cross.js';
import type { Bottom } from './bottom.js';

/**
 * DCN-v2 as a bottom, the paper's "stacked" structure (Wang et al., WWW 2021, Fig. 1b): a cross
 * network shared by all towers, each tower's MLP being the deep part on top of it.
 * Setting: model.bottom.cross_layers (default 2).
 */
export const dcnBottom: Bottom = ({ ctx, prefix, input, width, towers, cfg }) => {
  const out = crossNetwork(ctx, `dcn_${prefix}`, input, width, cfg.cross_layers ?? DEFAULT_CROSS_LAYERS);
  return { perTower: new Map(towers.map((t) => [t, out])), width };
};
