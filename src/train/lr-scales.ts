import type { ModelConfig } from '../config/types.js';

/**
 * Per-parameter learning-rate multipliers from `model.towers.NAME.lr_scale` (the dense half of it;
 * build/tower-logits.ts scales the tower's gradient into the shared embeddings), in the order of
 * `paramNames` (the dense optimizer's parameter list), or undefined when every one is 1.
 *
 * Why a tower may need its own rate (issue 17): in ESCM2 the clicked-row risk sets the direction
 * of the CVR tower's gradient and Adam normalises its size, so the risk weight cannot slow that
 * tower down; only its step size can. A tower's parameters are the ones the model builders name
 * `tower_NAME/...` (layers, head, inner product) or `ait_NAME/...` (AITM's transfer into it).
 */
export function towerLrScales(paramNames: readonly string[], model: ModelConfig): number[] | undefined {
  const scaled = Object.entries(model.towers).filter(([, t]) => t.lr_scale !== undefined && t.lr_scale !== 1);
  if (scaled.length === 0) return undefined;
  return paramNames.map((p) => {
    const hit = scaled.find(([name]) => p.startsWith(`tower_${name}/`) || p.startsWith(`ait_${name}/`));
    return hit?.[1].lr_scale ?? 1;
  });
}
