import type { TowerType } from '../../config/types.js';
import { fmTower } from './fm.js';
import { mlpTower } from './mlp.js';
import { dcnTower } from './dcn.js';
import type { Tower } from './types.js';

/** Tower types by name: adding one is a file in this folder and a line here. */
const TOWERS: Record<TowerType, Tower> = {
  mlp: mlpTower,
  fm: fmTower,
  dcn: dcnTower,
};

export function getTower(type: TowerType): Tower {
  return TOWERS[type];
}
