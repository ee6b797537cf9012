import type { Value } from '../../graph/graph.js';
import type { BottomConfig } from '../../config/types.js';
import type { BlockContext } from '../blocks/block-context.js';

/**
 * A bottom turns one embedding group's input [batch, width] into one input per tower reading that
 * group. `embedding` (the ESMM paper) hands every tower the same input; `shared_bottom` puts one
 * MLP in between; MMoE and PLE mix experts with a gate per tower.
 */
export interface BottomArgs {
  ctx: BlockContext;
  /** Name prefix for parameters (the embedding group). */
  prefix: string;
  input: Value;
  width: number;
  towers: string[];
  cfg: BottomConfig;
}

export interface BottomOutput {
  perTower: Map<string, Value>;
  width: number;
}

export type Bottom = (args: BottomArgs) => BottomOutput;
