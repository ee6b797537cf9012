import { mlp } from '../blocks/dense.js';
import type { Bottom } from './bottom.js';

/** Shared-bottom multi-task learning (Caruana 1997): one MLP shared by all towers. */
export const sharedBottom: Bottom = ({ ctx, prefix, input, width, towers, cfg }) => {
  const { out, width: w } = mlp(ctx, `bottom_${prefix}`, input, width, cfg.hidden ?? [256]);
  return { perTower: new Map(towers.map((t) => [t, out])), width: w };
};
