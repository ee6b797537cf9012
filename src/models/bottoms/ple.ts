import type { Value } from '../../graph/graph.js';
import type { Bottom } from './bottom.js';
import { DEFAULT_EXPERT, experts, gatedMixture } from './experts.js';

/**
 * PLE (Tang et al., RecSys'20, eq. 2-6): `levels` extraction layers of Customized Gate Control.
 * At each level, every task k has `task_experts` own experts and all tasks share `experts` shared
 * experts; task k's gate mixes [own experts, shared experts] (eq. 2-4). Below the last level a
 * shared gate mixes all experts into the next level's shared input (eq. 6), and each task's
 * output becomes its next-level input (progressive separation).
 */
export const pleBottom: Bottom = ({ ctx, prefix, input, width, towers, cfg }) => {
  const levels = cfg.levels ?? 2;
  const sizes = cfg.expert ?? DEFAULT_EXPERT;
  const nShared = cfg.experts ?? 2;
  const nTask = cfg.task_experts ?? 2;
  let taskIn = new Map<string, Value>(towers.map((t) => [t, input]));
  let sharedIn = input;
  let w = width;
  for (let l = 0; l < levels; l++) {
    const p = `ple_${prefix}/level${l}`;
    const shared = experts(ctx, `${p}/shared`, sharedIn, w, nShared, sizes);
    const own = new Map(towers.map((t) => [t, experts(ctx, `${p}/${t}`, taskIn.get(t)!, w, nTask, sizes).outs]));
    const next = new Map(towers.map((t) => [t, gatedMixture(ctx, `${p}/${t}`, taskIn.get(t)!, w, [...own.get(t)!, ...shared.outs])]));
    if (l < levels - 1) {
      const all = [...towers.flatMap((t) => own.get(t)!), ...shared.outs];
      sharedIn = gatedMixture(ctx, `${p}/shared`, sharedIn, w, all);
    }
    taskIn = next;
    w = shared.width;
  }
  return { perTower: taskIn, width: w };
};
