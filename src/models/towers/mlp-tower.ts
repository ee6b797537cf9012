import { mlp } from '../blocks/dense.js';
import type { Tower } from './types.js';

/** The plain tower: an MLP over the bottom's output (ESMM paper: 360-200-80 then the logit). */
export const mlpTower: Tower = ({ ctx, name, input, width, cfg }) => {
  const { out, width: w } = mlp(ctx, `tower_${name}`, input, width, cfg.sizes, cfg.norm);
  return { hidden: out, width: w };
};
