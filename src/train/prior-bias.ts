/**
 * Output-bias init at the base rates (the usual "init the last bias to the prior log-odds"): a
 * tower that predicts pCTR starts at logit(click rate), a tower that is the model's pCVR starts at
 * logit(buy rate among clicks), measured on the training rows. With zero biases every tower starts
 * at p = 0.5, and with Adam moving a bias by about the learning rate per step, climbing down to
 * a 2% CTR takes thousands of steps that the hidden layers spend bending to compensate; ESCM2's
 * inverse-propensity weights 1 / pCTR are then wrong by 10-50x for the whole first epoch (issue 17).
 * Models whose pCVR is a ratio of entire-space towers (division, AITM) start each such tower at
 * its own label's rate over impressions, so the ratio starts at buys / clicks. ESM2's branch
 * pCVR = y2 y3 + (1 - y2) y4 starts each of its towers at its own conditional rate on the training
 * rows: y2 at actions / clicks, y3 at buys / actions, y4 at buys without an action / clicks without
 * one, so pCVR starts at buys / clicks as ESMM's CVR tower does. Towers of chains keep zero biases.
 */
import type { EncodedChunk, LabelKey } from '../data/batch.js';
import type { FunnelModelSpec } from '../models/funnel-spec.js';

/**
 * The label counts the bias init reads: `rows`, `click`, `buy`, and for ratio models each
 * impression-space tower loss's label (`label:KEY`). Plain sums, so store workers can add up
 * theirs and every worker starts from the rates of all training rows, not of its own share.
 */
export type PriorCounts = Record<string, number>;

export function priorCounts(spec: FunnelModelSpec, train: EncodedChunk): PriorCounts {
  const sum = (a: Float32Array): number => {
    let s = 0;
    for (let i = 0; i < train.rows; i++) s += a[i]!;
    return s;
  };
  const counts: PriorCounts = { rows: train.rows, click: sum(train.labels.click), buy: sum(train.labels.buy) };
  const action = train.labels.action;
  if (branchTowers(spec) !== undefined && action !== undefined) {
    const { click, buy } = train.labels;
    let acted = 0;
    let actedBuys = 0;
    for (let i = 0; i < train.rows; i++) {
      const a = click[i]! * action[i]!;
      acted += a;
      actedBuys += a * buy[i]!;
    }
    counts.click_action = acted;
    counts.click_action_buy = actedBuys;
  }
  if (spec.outputs.pcvr.kind === 'ratio') {
    for (const loss of spec.losses) {
      if (loss.prob.kind !== 'tower' || loss.space !== 'impressions') continue;
      const labels = labelOf(train, loss.label);
      if (labels !== undefined) counts[`label:${loss.label}`] = sum(labels);
    }
  }
  return counts;
}

export function initOutputBiases(spec: FunnelModelSpec, params: Map<string, Float32Array>, train: EncodedChunk, counts: PriorCounts = priorCounts(spec, train)): void {
  const rows = counts.rows!;
  const clicks = counts.click!;
  const buys = counts.buy!;
  const set = (tower: string, rate: number): void => {
    const b = params.get(`tower_${tower}/head/b`);
    if (b === undefined || b.length !== 1 || !(rate > 0 && rate < 1)) return;
    // Clamped so that a tiny or degenerate sample cannot start a tower saturated.
    const p = Math.min(0.99, Math.max(1e-4, rate));
    b[0] = Math.log(p / (1 - p));
  };
  const { pctr, pcvr } = spec.outputs;
  // A pCVR that is a ratio of towers (division, AITM's y_N / y_1) would start pinned at its clamp
  // of 1 if only the denominator moved to the click rate. So every tower that a loss scores
  // directly on all impressions starts at that label's rate there: the ratio then starts at
  // buys / clicks. For AITM this was worth +0.08 entire-space pCVR AUC after epoch 1 in the
  // anticorrelated regime (bench/quality.ts --per-epoch, 200k rows, seed 1: 0.616 -> 0.695); with
  // the defaults, mean of seeds 1-3: anticorr .698 -> .726, sparse .720 -> .760, aligned .736 ->
  // .742, confounded .685 -> .729; division anticorr seed 1 .706 -> .736 (towers 128-64).
  if (pcvr.kind === 'ratio') {
    for (const loss of spec.losses) {
      if (loss.prob.kind !== 'tower' || loss.space !== 'impressions') continue;
      const pos = counts[`label:${loss.label}`];
      if (pos === undefined) continue;
      set(loss.prob.tower, pos / Math.max(1, rows));
    }
    return;
  }
  if (pctr.kind === 'tower') set(pctr.tower, clicks / Math.max(1, rows));
  const branch = branchTowers(spec);
  const acted = counts.click_action;
  const actedBuys = counts.click_action_buy;
  if (branch !== undefined && acted !== undefined && actedBuys !== undefined) {
    set(branch.cond, clicks > 0 ? acted / clicks : Number.NaN);
    set(branch.ifTrue, acted > 0 ? actedBuys / acted : Number.NaN);
    set(branch.ifFalse, clicks > acted ? (buys - actedBuys) / (clicks - acted) : Number.NaN);
    // A tower over a logit base (models/funnel-spec.ts) starts at its rate's departure from the base's.
    for (const t of spec.towers) {
      const own = t.logitBase !== undefined ? params.get(`tower_${t.name}/head/b`) : undefined;
      const base = t.logitBase !== undefined ? params.get(`tower_${t.logitBase}/head/b`) : undefined;
      if (own?.length === 1 && base?.length === 1) own[0] = own[0]! - base[0]!;
    }
    return;
  }
  if (pcvr.kind === 'tower' && (pctr.kind !== 'tower' || pcvr.tower !== pctr.tower)) set(pcvr.tower, clicks > 0 ? buys / clicks : Number.NaN);
}

/** The towers of a pCVR that is a branch over single towers (ESM2's y2, y3, y4), else undefined. */
function branchTowers(spec: FunnelModelSpec): { cond: string; ifTrue: string; ifFalse: string } | undefined {
  const p = spec.outputs.pcvr;
  if (p.kind !== 'branch' || p.cond.kind !== 'tower' || p.ifTrue.kind !== 'tower' || p.ifFalse.kind !== 'tower') return undefined;
  return { cond: p.cond.tower, ifTrue: p.ifTrue.tower, ifFalse: p.ifFalse.tower };
}

function labelOf(train: EncodedChunk, key: LabelKey): Float32Array | undefined {
  if (key === 'click' || key === 'buy') return train.labels[key];
  if (key === 'action') return train.labels.action;
  return train.labels.actions.get(key.slice('col:'.length));
}
