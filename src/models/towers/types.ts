import type { Value } from '../../graph/graph.js';
import type { ActivationName, InnerProductSides } from '../../config/types.js';
import type { BlockContext, FieldEmbeddings } from '../blocks/block-context.js';

/** A tower's settings with every fallback filled in. */
export interface ResolvedTower {
  /** A key of TOWERS (towers/index.ts). */
  type: string;
  sizes: number[];
  activation: ActivationName;
  dropout: number;
  norm: 'none' | 'layer';
  cross_layers?: number;
  inner_product?: InnerProductSides;
}

export interface TowerArgs {
  ctx: BlockContext;
  name: string;
  /** The bottom's output for this tower, [batch, width]. */
  input: Value;
  width: number;
  fields: FieldEmbeddings;
  cfg: ResolvedTower;
}

/**
 * A tower's hidden representation (the head, one dense unit to the logit, is added by the caller
 * so that AITM's transfer module can sit between the two) and an optional extra additive logit
 * term [batch, 1] (the FM tower's second-order interactions).
 */
export interface TowerOutput {
  hidden: Value;
  width: number;
  logitTerm?: Value;
}

export type Tower = (args: TowerArgs) => TowerOutput;
