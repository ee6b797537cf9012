import type { Graph, Value } from '../../graph/graph.js';
import type { ActivationName } from '../../config/types.js';
import type { Rng } from '../../util/random.js';

/** Context shared by every block that adds layers to a model graph. */
export interface BlockContext {
  g: Graph;
  rng: Rng;
  activation: ActivationName;
  /** Dropout (drop) rate; > 0 only in the training graph. */
  dropout: number;
  /**
   * Registers a dropout mask input of the given width for a layer whose DROP rate is `rate` (the
   * mask is 1 with probability 1 - rate, TrainStep draws it) and returns it (training graph only).
   */
  dropoutMask: (name: string, width: number, rate: number) => Value;
}

/** The embedding fields after field-wise pooling, as one [batch, count * dim] value. */
export interface FieldEmbeddings {
  value: Value;
  count: number;
  dim: number;
  /** Slot names (fields, or model.field_groups groups) in order, for blocks that pick fields. */
  slots?: string[];
}
