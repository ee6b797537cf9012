import { registryEntry } from '../registry-entry.js';
import type { Bottom } from './bottom.js';
import { embeddingBottom } from './embedding.js';
import { sharedBottom } from './shared-bottom.js';
import { mmoeBottom } from './mmoe.js';
import { pleBottom } from './ple.js';
import { dcnBottom } from './dcn.js';

/**
 * Bottom types by name: the only list of them. `model.bottom.type` is checked against its keys
 * when a config is loaded (api/load-config.ts); docs/extending.md says how to add one.
 */
export const BOTTOMS = {
  embedding: embeddingBottom,
  shared_bottom: sharedBottom,
  mmoe: mmoeBottom,
  ple: pleBottom,
  dcn: dcnBottom,
} satisfies Record<string, Bottom>;

export type BottomType = keyof typeof BOTTOMS;
export const BOTTOM_TYPES = Object.keys(BOTTOMS) as BottomType[];

export function getBottom(type: string): Bottom {
  return registryEntry<Bottom>(BOTTOMS, type, 'bottom type', 'model.bottom.type');
}
