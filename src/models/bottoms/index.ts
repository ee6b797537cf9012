import type { BottomConfig } from '../../config/types.js';
import type { Bottom } from './bottom.js';
import { embeddingBottom } from './embedding.js';
import { sharedBottom } from './shared-bottom.js';
import { mmoeBottom } from './mmoe.js';
import { pleBottom } from './ple.js';
import { dcnBottom } from './dcn.js';

const BOTTOMS: Partial<Record<BottomConfig['type'], Bottom>> = {
  embedding: embeddingBottom,
  shared_bottom: sharedBottom,
  mmoe: mmoeBottom,
  ple: pleBottom,
  dcn: dcnBottom,
};

/** Register a further bottom (each lives in its own file in this folder). */
export function registerBottom(type: BottomConfig['type'], bottom: Bottom): void {
  BOTTOMS[type] = bottom;
}

export function getBottom(type: BottomConfig['type']): Bottom {
  const b = BOTTOMS[type];
  if (b === undefined) throw new Error(`bottom '${type}' is not available`);
  return b;
}
