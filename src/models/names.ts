/** Model names users can put in `model.name`. Each is a funnel declaration (see models/registry.ts). */
export const MODEL_NAMES = ['esmm', 'esm2', 'naive_cvr', 'division', 'esmm_ns', 'chain'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
