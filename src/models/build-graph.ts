import { UserError } from '../errors.js';
import { Graph, type Value } from '../graph/graph.js';
import { gradients } from '../graph/autodiff.js';
import { ATTENTION_MAX_LEN, type ModelConfig } from '../config/types.js';
import { Rng } from '../util/random.js';
import { buildLogProb, type LogProb, type ProbExpr } from './funnel.js';
import { embeddingGroups, isRatio, type FunnelModelSpec, type LabelKey, type OutputExpr } from './spec.js';
import { embeddingWidth, type FeatureLayout } from './layout.js';
import { getBottom } from './bottoms/index.js';
import { dense, type BlockContext } from './towers/mlp.js';
import { getTower } from './towers/index.js';
import type { FieldEmbeddings, ResolvedTower } from './towers/types.js';
import { poolFieldGroups } from './blocks/field-pooling.js';
import { aitModule } from './blocks/ait.js';
import { attentionPool } from './blocks/attention-pooling.js';
import { innerProductTerm } from './blocks/inner-product.js';
import { buildRegularizer, type NamedLoss } from './regularizers.js';
import { combineLosses } from './loss-weighting.js';
import type { Calibration } from './calibration/calibrator.js';
import { calibrationNodes } from './calibration/onnx-nodes.js';

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

export interface SeqInput {
  group: string;
  field: string;
  input: string;
  maskInput: string;
  maxLen: number;
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

export const LOSS_WEIGHTS_INPUT = 'loss_weights';
export const NUMERIC_INPUT = 'numeric';

/**
 * Build the ONNX graph of a funnel model: embedding-group inputs -> field-wise pooling (+ numerics)
 * -> bottom -> one tower per edge (AITM: with information transfer) -> log-space funnel
 * composition -> losses, regularisers and their weighting; predictions. In training mode the
 * reverse-mode differentiator appends gradients for all dense parameters and the gathered
 * embeddings.
 */
export function buildModelGraph(spec: FunnelModelSpec, layout: FeatureLayout, cfg: ModelConfig, opts: BuildOptions): ModelGraph {
  const attention = attentionFields(cfg, layout);
  const g = new Graph(spec.name, { dtype: opts.dtype ?? 'float32' });
  const rng = new Rng(opts.seed);
  const maskInputs: ModelGraph['maskInputs'] = [];
  const ctx: BlockContext = {
    g,
    rng,
    activation: cfg.activation,
    dropout: opts.training ? cfg.dropout : 0,
    dropoutMask: (name, width, rate) => {
      const input = `mask/${name}`;
      maskInputs.push({ input, width, rate });
      return g.input(input, ['batch', width]);
    },
  };

  const width = embeddingWidth(layout);
  const fieldNames = [...layout.categorical, ...layout.multiValued].map((f) => f.name);
  const numeric = layout.numericDim > 0 ? g.input(NUMERIC_INPUT, ['batch', layout.numericDim]) : undefined;
  const embInputs: ModelGraph['embInputs'] = [];
  const embValues: Value[] = [];
  const seqInputs: SeqInput[] = [];
  const seqValues: Value[] = [];
  const seqMasks = new Map<string, Value>();
  const logits = new Map<string, Value>();

  // Per embedding group: gathered embeddings -> field-wise pooling -> [fields | numerics] -> bottom.
  const bottoms = new Map<string, { perTower: Map<string, Value>; width: number; fields: FieldEmbeddings }>();
  for (const group of embeddingGroups(spec)) {
    const name = `emb_${group}`;
    const emb = g.input(name, ['batch', width]);
    embInputs.push({ group, input: name, width });
    embValues.push(emb);
    let withSeq = emb;
    for (const a of attention) {
      // DIN: the field's slot (zeros in emb) becomes the target-attention pooling of its items
      // against the candidate item's embedding (the target field's slot).
      const input = `seq/${group}/${a.field}`;
      const maskInput = `seqmask/${a.field}`;
      const keys = g.input(input, ['batch', a.maxLen, layout.dim]);
      let mask = seqMasks.get(maskInput);
      if (mask === undefined) {
        mask = g.input(maskInput, ['batch', a.maxLen]);
        seqMasks.set(maskInput, mask);
      }
      seqInputs.push({ group, field: a.field, input, maskInput, maxLen: a.maxLen });
      seqValues.push(keys);
      const query = g.slice(emb, 1, a.targetSlot * layout.dim, (a.targetSlot + 1) * layout.dim);
      const pooledSeq = attentionPool(ctx, `attention_${group}/${a.field}`, keys, mask, query, layout.dim);
      withSeq = replaceSlot(g, withSeq, a.slot, layout.dim, width, pooledSeq);
    }
    const pooled = poolFieldGroups(g, withSeq, fieldNames, layout.dim, cfg.field_groups);
    const fields: FieldEmbeddings = { value: pooled.value, count: pooled.slots.length, dim: layout.dim, slots: pooled.slots };
    const fieldsWidth = pooled.slots.length * layout.dim;
    const x = numeric === undefined ? pooled.value : g.concat([pooled.value, numeric], 1);
    const towers = spec.towers.filter((t) => t.embeddings === group).map((t) => t.name);
    const bottom = getBottom(cfg.bottom.type)({ ctx, prefix: group, input: x, width: fieldsWidth + layout.numericDim, towers, cfg: cfg.bottom });
    bottoms.set(group, { ...bottom, fields });
  }

  // Towers in declaration order (AITM's transfer reads an earlier tower's hidden vector).
  const hidden = new Map<string, { value: Value; width: number }>();
  for (const t of spec.towers) {
    const b = bottoms.get(t.embeddings)!;
    const tc = resolveTower(cfg, t.name);
    const tctx: BlockContext = { ...ctx, activation: tc.activation, dropout: opts.training ? tc.dropout : 0 };
    const out = getTower(tc.type)({ ctx: tctx, name: t.name, input: b.perTower.get(t.name)!, width: b.width, fields: b.fields, cfg: tc });
    let h = out.hidden;
    if (t.transferFrom !== undefined) {
      const prev = hidden.get(t.transferFrom);
      if (prev === undefined) throw new Error(`tower '${t.name}' transfers from '${t.transferFrom}', which is not declared before it`);
      h = aitModule(ctx, `ait_${t.name}`, prev.value, prev.width, h, out.width);
    }
    hidden.set(t.name, { value: h, width: out.width });
    const head = dense(ctx, `tower_${t.name}/head`, h, out.width, 1);
    let logit = out.logitTerm === undefined ? head : g.add(head, out.logitTerm);
    if (tc.inner_product !== undefined) {
      const key = cfg.towers[t.name]?.inner_product !== undefined ? `model.towers.${t.name}.inner_product` : 'model.inner_product';
      logit = g.add(logit, innerProductTerm(ctx, `tower_${t.name}/inner_product`, b.fields, tc.inner_product, key));
    }
    logits.set(t.name, logit);
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
  const probs = new Map<PredictionName, Value>();
  for (const p of PREDICTIONS) {
    const e = spec.outputs[p];
    if (e !== undefined) probs.set(p, outputProb(e));
  }
  if (opts.calibration !== undefined && !opts.training) {
    const c = calibrationNodes(g, { pctr: probs.get('pctr')!, pctcvr: probs.get('pctcvr')! }, opts.calibration);
    for (const p of ['pctr', 'pcvr', 'pctcvr'] as const) probs.set(p, c[p]);
  }
  for (const [p, v] of probs) {
    g.output(p, v);
    predictions.push(p);
  }
  if (opts.towerOutputs === true && !opts.training) for (const [t, l] of logits) g.output(`tower/${t}`, g.sigmoid(l));

  const result: ModelGraph = {
    graph: g, spec, layout, embInputs, labelInputs, lossNames: [], maskInputs, predictions, paramGrads: [], embGrads: [], seqInputs, seqGrads: [],
    ...(numeric !== undefined ? { numericInput: NUMERIC_INPUT } : {}),
  };
  if (!opts.training) return result;

  // Losses (ESMM eq. 3, ESM2 eq. 10): BCE on entire-space probabilities, from log-probs; then the
  // model's regularisers (AITM's calibrator, ESCM2's counterfactual risks).
  const named: NamedLoss[] = spec.losses.map((loss) => ({
    name: loss.name,
    value: bce(g, buildLogProb(g, loss.prob, logits, cache), loss.labelAnd === undefined ? labelValue(loss.label) : g.mul(labelValue(loss.label), labelValue(loss.labelAnd)), loss.space === 'clicked' ? labelValue('click') : undefined),
    task: true,
  }));
  for (const r of spec.regularizers ?? []) named.push(...buildRegularizer({ g, logits, cache, label: labelValue, cfg }, r));
  for (const l of named) {
    g.output(`loss_${l.name}`, l.value);
    result.lossNames.push(l.name);
  }
  if (cfg.loss_weighting === 'gradnorm') result.gradNorms = gradNormOutputs(g, named, embValues);
  const total = combineLosses(ctx, named, g.input(LOSS_WEIGHTS_INPUT, [named.length]), cfg.loss_weighting);
  g.output('loss', total);

  const params = g.params().map((p) => p.value);
  const grads = gradients(g, total, [...params, ...embValues, ...seqValues]);
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
  seqInputs.forEach((q, i) => {
    const output = `grad/${q.input}`;
    g.output(output, grads[params.length + embInputs.length + i]!);
    result.seqGrads.push({ group: q.group, field: q.field, output });
  });
  return result;
}

/**
 * GradNorm (Chen et al., ICML'18) needs, per task loss L_i, the norm of its gradient with respect to
 * shared weights W. Here W is the gathered-embedding input of every embedding group, i.e. the
 * `emb_shared` input for the default shared group (with the `embedding` bottom it is the only
 * layer all towers share; with other bottoms it is still shared, just lower than the paper's
 * "last shared layer", which differs per bottom and does not exist for unshared embeddings). With
 * unshared embeddings (one group per tower) the groups together are W. Each task loss gets its
 * own backward pass: g_i = sqrt(sum over groups of sum (dL_i/d emb)^2), output `gradnorm/NAME`.
 * Regularisers (task: false) keep their fixed weights and get no output.
 */
function gradNormOutputs(g: Graph, named: NamedLoss[], embValues: Value[]): NonNullable<ModelGraph['gradNorms']> {
  const out: NonNullable<ModelGraph['gradNorms']> = [];
  named.forEach((l, index) => {
    if (!l.task) return;
    const grads = gradients(g, l.value, embValues);
    const sq = grads.map((d) => g.reduceSum(g.mul(d, d), [0, 1], false));
    const norm = g.sqrt(sq.reduce((a, b) => g.add(a, b)));
    const output = `gradnorm/${l.name}`;
    g.output(output, norm);
    out.push({ loss: l.name, index, output });
  });
  if (out.length === 0) throw new UserError('loss_weighting gradnorm needs at least one task loss', { key: 'model.loss_weighting' });
  return out;
}

/**
 * The attention-pooled fields of model.pooling with their slot in emb_<group> and their target's
 * slot (sum/mean fields need nothing here: EmbeddingSet pools them in the gather).
 */
function attentionFields(cfg: ModelConfig, layout: FeatureLayout): { field: string; slot: number; targetSlot: number; maxLen: number }[] {
  const out: { field: string; slot: number; targetSlot: number; maxLen: number }[] = [];
  for (const [field, p] of Object.entries(cfg.pooling)) {
    const m = layout.multiValued.findIndex((f) => f.name === field);
    if (m < 0) throw new UserError(`'${field}' is not a multi-valued field of the model`, { key: `model.pooling.${field}` });
    if (p.type !== 'attention') continue;
    const t = layout.categorical.findIndex((f) => f.name === p.target);
    if (t < 0) throw new UserError(`'${p.target}' is not a single-valued categorical field (the candidate item)`, { key: `model.pooling.${field}.target` });
    out.push({ field, slot: layout.categorical.length + m, targetSlot: t, maxLen: p.max_len ?? ATTENTION_MAX_LEN });
  }
  return out;
}

/** x [batch, width] with columns [slot*dim, (slot+1)*dim) replaced by v [batch, dim]. */
function replaceSlot(g: Graph, x: Value, slot: number, dim: number, width: number, v: Value): Value {
  const parts: Value[] = [];
  if (slot > 0) parts.push(g.slice(x, 1, 0, slot * dim));
  parts.push(v);
  if ((slot + 1) * dim < width) parts.push(g.slice(x, 1, (slot + 1) * dim, width));
  return parts.length === 1 ? v : g.concat(parts, 1);
}

/** A tower's settings: model.towers.NAME over the model-wide tower, activation and dropout. */
export function resolveTower(cfg: ModelConfig, name: string): ResolvedTower {
  const t = cfg.towers[name];
  return {
    type: t?.type ?? 'mlp',
    sizes: t?.sizes ?? cfg.tower,
    activation: t?.activation ?? cfg.activation,
    dropout: t?.dropout ?? cfg.dropout,
    norm: t?.norm ?? 'none',
    ...(t?.cross_layers !== undefined ? { cross_layers: t.cross_layers } : {}),
    ...((t?.inner_product ?? cfg.inner_product) !== undefined ? { inner_product: (t?.inner_product ?? cfg.inner_product)! } : {}),
  };
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
