import { crossNetwork, DEFAULT_CROSS_LAYERS } from '../blocks/cross.js';
import { mlpTower } from './mlp-tower.js';
import type { Tower } from './types.js';

/**
 * DCN-v2 tower, the paper's "parallel" structure (Wang et al., WWW 2021, Fig. 1a): a cross
 * network and the tower's MLP both read the tower's input; the head reads their concatenation.
 * Setting: model.towers.NAME.cross_layers (default 2).
 */
export const dcnTower: Tower = (args) => {
  const deep = mlpTower(args);
  const cross = crossNetwork(args.ctx, `tower_${args.name}/dcn`, args.input, args.width, args.cfg.cross_layers ?? DEFAULT_CROSS_LAYERS);
  return { hidden: args.ctx.g.concat([cross, deep.hidden], 1), width: args.width + deep.width };
};
