import { Graph } from '../graph/graph.js';
import type { ModelConfig } from '../config/types.js';
import type { LabelKey } from '../data/batch.js';
import { Rng } from '../util/random.js';
import type { Calibration } from './calibration/calibrator.js';
import type { LogProbCache } from './funnel.js';
import type { FunnelModelSpec } from './funnel-spec.js';
import type { FeatureLayout } from './layout.js';
import type { BlockContext } from './blocks/block-context.js';
import { buildInputsAndBottoms, NUMERIC_INPUT, type SeqInput } from './build/inputs-and-bottoms.js';
import { buildTowerLogits } from './build/tower-logits.js';
import { buildPredictionOutputs, type PredictionName } from './build/prediction-outputs.js';
import { buildTrainingLosses } from './build/training-losses.js';
import { buildGradientOutputs } from './build/gradient-outputs.js';

export { NUMERIC_INPUT, type SeqInput } from './build/inputs-and-bottoms.js';
export { resolveTower } from './build/tower-logits.js';
export { PREDICTIONS, type PredictionName } from './build/prediction-outputs.js';
export { LOSS_WEIGHTS_INPUT } from './build/training-losses.js';

export interface ModelGraph {
  graph: Graph;
  spec: FunnelModelSpec;
  layout: FeatureLayout;
  /** Gathered-embedding inputs, one per embedding group: name and width. */
  embInputs: { group: string; input: string; width: number }[];
  /** Numeric input name (absent when the layout has no numeric features). */
  numericInput?: string;
  /** Label inputs [batch, 1]. */
  labelInputs: { key: LabelKey; input: string }[];
  /** Loss names in the order of the `loss_weights` input. */
  lossNames: string[];
  /** Training graph only: the loss names that are regularisers, not tasks (fixed weights under any weighting). */
  penaltyNames: string[];
  /** Dropout mask inputs [batch, width] with their drop rate (training graph with dropout only). */
  maskInputs: { input: string; width: number; rate: number }[];
  /** Prediction outputs present for this model. */
  predictions: PredictionName[];
  /** Training graph only: dense gradient output per parameter, and embedding-input gradients. */
  paramGrads: { param: string; output: string }[];
  embGrads: { group: string; output: string }[];
  /**
   * Training graph with `loss_weighting: gradnorm` only: per task loss (index into `lossNames`),
   * the scalar output holding g_i = ||dL_i/dW|| (unweighted; GradNorm's G_i is w_i * g_i), W being
   * the gathered embeddings of all groups (see gradNormOutputs).
   */
  gradNorms?: { loss: string; index: number; output: string }[];
  /**
   * Attention-pooled multi-valued fields: per group and field the per-item embeddings input
   * `seq/<group>/<field>` [batch, maxLen, dim] and the shared mask input `seqmask/<field>`
   * [batch, maxLen] (EmbeddingSet.gatherSequence fills both).
   */
  seqInputs: SeqInput[];
  /** Training graph only: gradient output `grad/seq/<group>/<field>` per sequence input. */
  seqGrads: { group: string; field: string; output: string }[];
}

export interface BuildOptions {
  training: boolean;
  /** Seed of the parameter initialisation (same seed, same initial weights). */
  seed: number;
  dtype?: 'float32' | 'float64';
  /** Forward graph only: append the post-hoc calibration's nodes to pctr, pcvr and pctcvr (export). */
  calibration?: Calibration;
  /** Forward graph only: also output each tower's own probability as `tower/<name>` (diagnostics). */
  towerOutputs?: boolean;
}

/**
 * Build the ONNX graph of a funnel model, in five steps (each a file in models/build/):
 * embedding-group inputs -> field-wise pooling (+ numerics) -> bottom (inputs-and-bottoms.ts);
 * one tower per edge, AITM with information transfer (tower-logits.ts); log-space funnel
 * composition into the predictions (prediction-outputs.ts); in training mode the losses,
 * regularisers and their weighting (training-losses.ts) and the reverse-mode gradients of all
 * dense parameters and gathered embeddings (gradient-outputs.ts).
 */
export function buildModelGraph(spec: FunnelModelSpec, layout: FeatureLayout, cfg: ModelConfig, opts: BuildOptions): ModelGraph {
  const g = new Graph(spec.name, { dtype: opts.dtype ?? 'float32' });
  const maskInputs: ModelGraph['maskInputs'] = [];
  const ctx: BlockContext = {
    g,
    rng: new Rng(opts.seed),
    activation: cfg.activation,
    dropout: opts.training ? cfg.dropout : 0,
    dropoutMask: (name, width, rate) => {
      const input = `mask/${name}`;
      maskInputs.push({ input, width, rate });
      return g.input(input, ['batch', width]);
    },
  };
  const inputs = buildInputsAndBottoms(ctx, spec, layout, cfg);
  const logits = buildTowerLogits(ctx, spec, cfg, inputs.bottoms, opts.training);
  const cache: LogProbCache = new Map();
  const predictions = buildPredictionOutputs(g, spec, logits, cache, opts.training ? {} : opts);
  const result: ModelGraph = {
    graph: g, spec, layout, embInputs: inputs.embInputs, labelInputs: [], lossNames: [], penaltyNames: [], maskInputs, predictions, paramGrads: [], embGrads: [], seqInputs: inputs.seqInputs, seqGrads: [],
    ...(inputs.numeric !== undefined ? { numericInput: NUMERIC_INPUT } : {}),
  };
  if (!opts.training) return result;

  const losses = buildTrainingLosses(ctx, spec, cfg, logits, cache, inputs.embValues);
  result.labelInputs = losses.labelInputs;
  result.lossNames = losses.lossNames;
  result.penaltyNames = losses.penaltyNames;
  if (losses.gradNorms !== undefined) result.gradNorms = losses.gradNorms;
  const grads = buildGradientOutputs(g, losses.total, { inputs: inputs.embInputs, values: inputs.embValues }, { inputs: inputs.seqInputs, values: inputs.seqValues });
  result.paramGrads = grads.paramGrads;
  result.embGrads = grads.embGrads;
  result.seqGrads = grads.seqGrads;
  return result;
}
