import { Graph, type Value } from '../graph/graph.js';
import { gradients } from '../graph/autodiff.js';
import type { ModelConfig } from '../config/types.js';
import { Rng } from '../util/random.js';
import { buildLogProb, type LogProb, type ProbExpr } from './funnel.js';
import { embeddingGroups, isRatio, type FunnelModelSpec, type LabelKey, type OutputExpr } from './spec.js';
import { embeddingWidth, type FeatureLayout } from './layout.js';
import { getBottom } from './bottoms/index.js';
import { mlpTower, type BlockContext } from './towers/mlp.js';

/** Names of the user-facing probabilities, in output order. */
export const PREDICTIONS = ['pctr', 'pcvr', 'pctcvr', 'paction'] as const;
export type PredictionName = (typeof PREDICTIONS)[number];

/** Everything the trainer needs to feed and read a model graph. */
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
  /** Dropout mask inputs [batch, width] (training graph with dropout only). */
  maskInputs: { input: string; width: number }[];
  /** Prediction outputs present for this model. */
  predictions: PredictionName[];
  /** Training graph only: dense gradient output per parameter, and embedding-input gradients. */
  paramGrads: { param: string; output: string }[];
  embGrads: { group: string; output: string }[];
}

export interface BuildOptions {
  training: boolean;
  /** Seed of the parameter initialisation (same seed, same initial weights). */
  seed: number;
  dtype?: 'float32' | 'float64';
}

export const LOSS_WEIGHTS_INPUT = 'loss_weights';
export const NUMERIC_INPUT = 'numeric';

/**
 * Build the ONNX graph of a funnel model: embedding-group inputs (+ numerics) -> bottom -> one
 * tower per edge -> log-space funnel composition -> losses and predictions. In training mode the
 * reverse-mode differentiator appends gradients for all dense parameters and the gathered
 * embeddings.
 */
export function buildModelGraph(spec: FunnelModelSpec, layout: FeatureLayout, cfg: ModelConfig, opts: BuildOptions): ModelGraph {
  const g = new Graph(spec.name, { dtype: opts.dtype ?? 'float32' });
  const rng = new Rng(opts.seed);
  const maskInputs: { input: string; width: number }[] = [];
  const ctx: BlockContext = {
    g,
    rng,
    activation: cfg.activation,
    dropout: opts.training ? cfg.dropout : 0,
    dropoutMask: (name, width) => {
      const input = `mask/${name}`;
      maskInputs.push({ input, width });
      return g.input(input, ['batch', width]);
    },
  };

  const width = embeddingWidth(layout);
  const numeric = layout.numericDim > 0 ? g.input(NUMERIC_INPUT, ['batch', layout.numericDim]) : undefined;
  const embInputs: ModelGraph['embInputs'] = [];
  const embValues: Value[] = [];
  const logits = new Map<string, Value>();

  for (const group of embeddingGroups(spec)) {
    const name = `emb_${group}`;
    const emb = g.input(name, ['batch', width]);
    embInputs.push({ group, input: name, width });
    embValues.push(emb);
    // Numerics join every group's input: x = [embeddings | numerics].
    const x = numeric === undefined ? emb : g.concat([emb, numeric], 1);
    const xWidth = width + layout.numericDim;
    const towers = spec.towers.filter((t) => t.embeddings === group).map((t) => t.name);
    const bottom = getBottom(cfg.bottom.type)({ ctx, prefix: group, input: x, width: xWidth, towers, cfg: cfg.bottom });
    for (const t of towers) {
      logits.set(t, mlpTower(ctx, t, bottom.perTower.get(t)!, bottom.width, cfg.tower));
    }
  }

  const cache = new Map<ProbExpr, LogProb>();
  const labelInputs: ModelGraph['labelInputs'] = [];
  const labelValues = new Map<LabelKey, Value>();
  const labelValue = (key: LabelKey): Value => {
    const found = labelValues.get(key);
    if (found !== undefined) return found;
    const input = `label_${key}`;
    labelInputs.push({ key, input });
    const v = g.input(input, ['batch', 1]);
    labelValues.set(key, v);
    return v;
  };

  const predictions: PredictionName[] = [];
  const outputProb = (e: OutputExpr): Value => {
    if (isRatio(e)) {
      // DIVISION: pCVR = pCTCVR / pCTR clipped to [0, 1], i.e. exp(min(0, log num - log den)).
      const num = buildLogProb(g, e.num, logits, cache);
      const den = buildLogProb(g, e.den, logits, cache);
      return g.exp(g.clip(g.sub(num.logp, den.logp), -80, 0));
    }
    return g.exp(buildLogProb(g, e, logits, cache).logp);
  };
  for (const p of PREDICTIONS) {
    const e = spec.outputs[p];
    if (e === undefined) continue;
    g.output(p, outputProb(e));
    predictions.push(p);
  }

  const result: ModelGraph = {
    graph: g, spec, layout, embInputs, labelInputs, lossNames: [], maskInputs, predictions, paramGrads: [], embGrads: [],
    ...(numeric !== undefined ? { numericInput: NUMERIC_INPUT } : {}),
  };
  if (!opts.training) return result;

  // Losses (ESMM eq. 3, ESM2 eq. 10): BCE on entire-space probabilities, from log-probs.
  const weights = g.input(LOSS_WEIGHTS_INPUT, [spec.losses.length]);
  let total: Value | undefined;
  spec.losses.forEach((loss, k) => {
    const lp = buildLogProb(g, loss.prob, logits, cache);
    const value = bce(g, lp, labelValue(loss.label), loss.space === 'clicked' ? labelValue('click') : undefined);
    g.output(`loss_${loss.name}`, value);
    const weighted = g.reduceSum(g.mul(g.slice(weights, 0, k, k + 1), value), [0], false);
    total = total === undefined ? weighted : g.add(total, weighted);
    result.lossNames.push(loss.name);
  });
  g.output('loss', total!);

  const params = g.params().map((p) => p.value);
  const grads = gradients(g, total!, [...params, ...embValues]);
  params.forEach((p, i) => {
    const output = `grad/${p.name}`;
    g.output(output, grads[i]!);
    result.paramGrads.push({ param: p.name, output });
  });
  embInputs.forEach((e, i) => {
    const output = `grad/${e.input}`;
    g.output(output, grads[params.length + i]!);
    result.embGrads.push({ group: e.group, output });
  });
  return result;
}

/**
 * Mean binary cross-entropy from log-probabilities: -mean(y log p + (1 - y) log(1 - p)).
 * With `rowMask`, the mean is over rows where the mask is 1 (the clicked space).
 */
function bce(g: Graph, lp: LogProb, y: Value, rowMask?: Value): Value {
  const ll = g.add(g.mul(y, g.sub(lp.logp, lp.log1mp)), lp.log1mp);
  if (rowMask === undefined) return g.neg(g.reduceMean(ll, [0, 1], false));
  const sum = g.reduceSum(g.mul(ll, rowMask), [0, 1], false);
  const count = g.clip(g.reduceSum(rowMask, [0, 1], false), 1, 1e30);
  return g.neg(g.div(sum, count));
}
