import type { Graph, Value } from '../graph/graph.js';
import type { ModelConfig } from '../config/types.js';
import { rowBce } from '../graph/losses.js';
import { buildLogProb, type LogProbCache, type ProbExpr } from './funnel.js';
import type { LabelKey } from '../data/batch.js';
import type { RegularizerDecl } from './funnel-spec.js';
import { stopGradient } from './blocks/stop-gradient.js';

/** A named scalar loss term; `task` terms take part in uncertainty weighting, penalties do not. */
export interface NamedLoss {
  name: string;
  value: Value;
  task: boolean;
}

export interface RegularizerContext {
  g: Graph;
  logits: Map<string, Value>;
  cache: LogProbCache;
  label: (key: LabelKey) => Value;
  cfg: ModelConfig;
}

/** The loss terms of one regulariser declaration. */
export function buildRegularizer(ctx: RegularizerContext, r: RegularizerDecl): NamedLoss[] {
  switch (r.kind) {
    case 'calibrator':
      return [{ name: r.name, value: calibrator(ctx, r.stages), task: false }];
    case 'ipw':
      return [{ name: r.name, value: ipw(ctx, r.cvr, r.propensity), task: true }];
    case 'dr':
      return doublyRobust(ctx, r);
  }
}

/**
 * AITM's behavioural expectation calibrator (Xi et al., KDD'21, eq. 7):
 * L_lc = alpha * sum_t mean(max(y_t - y_{t-1}, 0)), y_t the entire-space probability of stage t.
 */
function calibrator(ctx: RegularizerContext, stages: ProbExpr[]): Value {
  const { g } = ctx;
  const prob = (e: ProbExpr): Value => g.exp(buildLogProb(g, e, ctx.logits, ctx.cache).logp);
  let sum: Value | undefined;
  for (let t = 1; t < stages.length; t++) {
    const excess = g.reduceMean(g.relu(g.sub(prob(stages[t]!), prob(stages[t - 1]!))), [0, 1]);
    sum = sum === undefined ? excess : g.add(sum, excess);
  }
  return g.mul(sum!, g.constant(ctx.cfg.aitm.alpha));
}

/** Per-row CVR error e_i = BCE(buy_i, pCVR_i) [batch, 1], from log-probabilities. */
function cvrError(ctx: RegularizerContext, cvr: ProbExpr): Value {
  const { g } = ctx;
  const lp = buildLogProb(g, cvr, ctx.logits, ctx.cache);
  return rowBce(g, lp.logp, lp.log1mp, ctx.label('buy'));
}

/** o_i / clip(stop_gradient(pCTR_i), floor, clip): the inverse-propensity weight of clicked rows. */
function ipwWeight(ctx: RegularizerContext, propensity: ProbExpr): Value {
  const { g } = ctx;
  const { propensity_floor: lo, propensity_clip: hi } = ctx.cfg.escm2;
  const pctr = g.exp(stopGradient(g, buildLogProb(g, propensity, ctx.logits, ctx.cache).logp));
  return g.div(ctx.label('click'), g.clip(pctr, lo, hi));
}

/**
 * The IPW average of per-row values x_i: sum(w_i x_i) / n over the batch's n impressions, or with
 * model.escm2.self_normalize sum(w_i x_i) / sum(w_i) (the self-normalised estimator; 0 for a batch
 * without clicks).
 */
function weightedMean(ctx: RegularizerContext, w: Value, x: Value): Value {
  const { g } = ctx;
  if (!ctx.cfg.escm2.self_normalize) return g.reduceMean(g.mul(w, x), [0, 1]);
  const total = g.clip(g.reduceSum(w, [0, 1]), 1e-6, 1e30);
  return g.div(g.reduceSum(g.mul(w, x), [0, 1]), total);
}

/** ESCM2-IPW (Wang et al., SIGIR'22, eq. 8): R_IPW = mean over impressions of o_i e_i / o^_i. */
function ipw(ctx: RegularizerContext, cvr: ProbExpr, propensity: ProbExpr): Value {
  return weightedMean(ctx, ipwWeight(ctx, propensity), cvrError(ctx, cvr));
}

/**
 * ESCM2-DR (eq. 9-10): R_DR = mean(e^_i + o_i (e_i - e^_i) / o^_i) trains the CVR tower, with the
 * imputed error e^_i = softplus(imputation logit) held fixed; the imputation tower is trained by
 * L_imp = mean(o_i (e_i - e^_i)^2 / o^_i) with e_i held fixed (the two are alternated in the
 * paper; stop-gradients give the same partial gradients in one step).
 */
function doublyRobust(ctx: RegularizerContext, r: Extract<RegularizerDecl, { kind: 'dr' }>): NamedLoss[] {
  const { g } = ctx;
  const logit = ctx.logits.get(r.imputationTower);
  if (logit === undefined) throw new Error(`dr: no tower '${r.imputationTower}'`);
  const imputed = g.softplus(logit);
  const e = cvrError(ctx, r.cvr);
  const w = ipwWeight(ctx, r.propensity);
  const fixedImputed = stopGradient(g, imputed);
  const dr = g.add(g.reduceMean(fixedImputed, [0, 1]), weightedMean(ctx, w, g.sub(e, fixedImputed)));
  const gap = g.sub(stopGradient(g, e), imputed);
  const imp = weightedMean(ctx, w, g.mul(gap, gap));
  return [
    { name: r.name, value: dr, task: true },
    { name: r.imputationLoss, value: imp, task: false },
  ];
}
