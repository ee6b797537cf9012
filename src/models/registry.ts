import type { Schema } from '../data/schema.js';
import type { FunnelModelSpec } from './funnel-spec.js';
import { registryEntry } from './registry-entry.js';
import { aitm } from './families/aitm.js';
import { chain } from './families/chain.js';
import { division } from './families/division.js';
import { escm2 } from './families/escm2.js';
import { esm2 } from './families/esm2.js';
import { esmm } from './families/esmm.js';
import { naiveCvr } from './families/naive-cvr.js';

/**
 * The named models, each a declaration of the one funnel mechanism (DESIGN.md, "The funnel is
 * the core idea") in models/families/. This map is the only list of model names: `model.name`
 * is checked against its keys when a config is loaded (api/load-config.ts). Adding a model means
 * a declaration file in families/ and a line here, not new training code (docs/extending.md).
 */
export const MODELS = {
  esmm: () => esmm(true),
  esm2: (schema) => esm2(schema),
  naive_cvr: () => naiveCvr(),
  division: () => division(),
  esmm_ns: () => esmm(false),
  chain: (schema) => chain(schema),
  aitm: (schema) => aitm(schema),
  escm2_ipw: () => escm2('ipw'),
  escm2_dr: () => escm2('dr'),
} satisfies Record<string, (schema: Schema) => FunnelModelSpec>;

/** Model names users can put in `model.name`. */
export type ModelName = keyof typeof MODELS;
export const MODEL_NAMES = Object.keys(MODELS) as ModelName[];

export function funnelSpec(name: string, schema: Schema): FunnelModelSpec {
  return registryEntry<(schema: Schema) => FunnelModelSpec>(MODELS, name, 'model', 'model.name')(schema);
}
