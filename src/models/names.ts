/** Model names users can put in `model.name`. Each is a funnel declaration (see models/registry.ts). */
export const MODEL_NAMES = ['esmm', 'esm2', 'naive_cvr', 'division', 'esmm_ns', 'chain', 'aitm', 'escm2_ipw', 'escm2_dr'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
