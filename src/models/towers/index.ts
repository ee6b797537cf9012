import { registryEntry } from '../registry-entry.js';
import { fmTower } from './fm-tower.js';
import { mlpTower } from './mlp-tower.js';
import { dcnTower } from './dcn.js';
import type { Tower } from './types.js';

/**
 * Tower types by name: the only list of them. `model.towers.NAME.type` is checked against its
 * keys when a config is loaded (api/load-config.ts); docs/extending.md says how to add one.
 */
export const TOWERS = {
  mlp: mlpTower,
  fm: fmTower,
  dcn: dcnTower,
} satisfies Record<string, Tower>;

export type TowerType = keyof typeof TOWERS;
export const TOWER_TYPES = Object.keys(TOWERS) as TowerType[];

export function getTower(type: string): Tower {
  return registryEntry<Tower>(TOWERS, type, 'tower type', 'model.towers');
}
