import { UserError } from '../../errors.js';
import type { Graph, Value } from '../../graph/graph.js';
import { gradients } from '../../graph/autodiff.js';
import { bce } from '../../graph/losses.js';
import type { ModelConfig } from '../../config/types.js';
import type { LabelKey } from '../../data/batch.js';
import { buildLogProb, type LogProbCache } from '../funnel.js';
import type { FunnelModelSpec } from '../funnel-spec.js';
import type { BlockContext } from '../blocks/block-context.js';
import { buildRegularizer, type NamedLoss } from '../regularizers.js';
import { combineLosses } from '../loss-weighting.js';

export const LOSS_WEIGHTS_INPUT = 'loss_weights';

export interface TrainingLosses {
  /** Label inputs [batch, 1], created on first use. */
  labelInputs: { key: LabelKey; input: string }[];
  /** Loss names in the order of the `loss_weights` input (each also an output `loss_NAME`). */
  lossNames: string[];
  /** The regularisers among them (task: false, e.g. ESCM2-DR's imputation loss): always fixed weights. */
  penaltyNames: string[];
  /** The weighted total, output `loss`. */
  total: Value;
  /** `loss_weighting: gradnorm` only: per task loss, its gradient-norm output. */
  gradNorms?: { loss: string; index: number; output: string }[];
}

/**
 * The training losses: one BCE (graph/losses.ts) per declared loss on its entire-space (or
 * clicked-space) probability from log-probs, then the model's regularisers (AITM's calibrator,
 * ESCM2's counterfactual risks), each an output `loss_NAME`, combined by model.loss_weighting
 * with the `loss_weights` input into the output `loss`.
 */
export function buildTrainingLosses(ctx: BlockContext, spec: FunnelModelSpec, cfg: ModelConfig, logits: Map<string, Value>, cache: LogProbCache, embValues: Value[]): TrainingLosses {
  const { g } = ctx;
  const labelInputs: TrainingLosses['labelInputs'] = [];
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

  // Losses (ESMM eq. 3, ESM2 eq. 10): BCE on entire-space probabilities, from log-probs.
  const named: NamedLoss[] = spec.losses.map((loss) => {
    const lp = buildLogProb(g, loss.prob, logits, cache);
    return {
      name: loss.name,
      value: bce(g, lp.logp, lp.log1mp, loss.labelAnd === undefined ? labelValue(loss.label) : g.mul(labelValue(loss.label), labelValue(loss.labelAnd)), loss.space === 'clicked' ? labelValue('click') : undefined),
      task: true,
    };
  });
  for (const r of spec.regularizers ?? []) named.push(...buildRegularizer({ g, logits, cache, label: labelValue, cfg }, r));
  const lossNames: string[] = [];
  for (const l of named) {
    g.output(`loss_${l.name}`, l.value);
    lossNames.push(l.name);
  }
  const gradNorms = cfg.loss_weighting === 'gradnorm' ? gradNormOutputs(g, named, embValues) : undefined;
  const total = combineLosses(ctx, named, g.input(LOSS_WEIGHTS_INPUT, [named.length]), cfg.loss_weighting);
  g.output('loss', total);
  const penaltyNames = named.filter((l) => !l.task).map((l) => l.name);
  return { labelInputs, lossNames, penaltyNames, total, ...(gradNorms !== undefined ? { gradNorms } : {}) };
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
function gradNormOutputs(g: Graph, named: NamedLoss[], embValues: Value[]): NonNullable<TrainingLosses['gradNorms']> {
  const out: NonNullable<TrainingLosses['gradNorms']> = [];
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
