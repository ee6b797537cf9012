import { UserError } from '../errors.js';
import type { Schema } from '../data/schema.js';
import { branch, product, tower } from './funnel.js';
import type { FunnelModelSpec } from './spec.js';
import { MODEL_NAMES } from './names.js';
import { aitm } from './families/aitm.js';
import { escm2 } from './families/escm2.js';
import { funnelStages } from './families/stages.js';

/**
 * The named models, each a declaration of the one funnel mechanism (DESIGN.md, "The funnel is
 * the core idea"). Adding a model means adding a declaration here, not new training code.
 */
export function funnelSpec(name: string, schema: Schema): FunnelModelSpec {
  switch (name) {
    case 'esmm':
      return esmm(true);
    case 'esmm_ns':
      return esmm(false);
    case 'esm2':
      return esm2(schema);
    case 'naive_cvr':
      return naiveCvr();
    case 'division':
      return division();
    case 'chain':
      return chain(schema);
    case 'aitm':
      return aitm(schema);
    case 'escm2_ipw':
      return escm2('ipw');
    case 'escm2_dr':
      return escm2('dr');
    default:
      throw new UserError(`unknown model '${name}'; known: ${MODEL_NAMES.join(', ')}`, { key: 'model.name' });
  }
}

/**
 * ESMM (Ma et al., SIGIR 2018), eq. (2)-(3): pCTCVR = pCTR x pCVR and
 * L = sum_i l(y_i, pCTR_i) + sum_i l(y_i & z_i, pCTR_i x pCVR_i), both over all impressions.
 * pCVR has no loss of its own. `shared = false` is the paper's ESMM-NS ablation.
 */
function esmm(shared: boolean): FunnelModelSpec {
  const ctr = tower('ctr');
  const cvr = tower('cvr');
  return {
    name: shared ? 'esmm' : 'esmm_ns',
    description: shared ? 'ESMM: shared embeddings, pCTCVR = pCTR x pCVR' : 'ESMM-NS: ESMM without shared embeddings',
    towers: [
      { name: 'ctr', predicts: 'p(click | impression)', embeddings: shared ? 'shared' : 'ctr' },
      { name: 'cvr', predicts: 'p(buy | click)', embeddings: shared ? 'shared' : 'cvr' },
    ],
    losses: [
      { name: 'ctr', prob: ctr, label: 'click', space: 'impressions' },
      { name: 'ctcvr', prob: product(ctr, cvr), label: 'buy', space: 'impressions' },
    ],
    outputs: { pctr: ctr, pcvr: cvr, pctcvr: product(ctr, cvr) },
    needsActions: false,
  };
}

/**
 * ESM2 (Wen et al., SIGIR 2020), eq. (5)-(10): y1 = p(click), y2 = p(DAction | click),
 * y3 = p(buy | DAction), y4 = p(buy | OAction); pCVR = y2 y3 + (1 - y2) y4;
 * pCTAVR = y1 y2; pCTCVR = y1 pCVR. Losses over all impressions on click, click&DAction, click&buy.
 */
function esm2(schema: Schema): FunnelModelSpec {
  if ((schema.labels.actions ?? []).length === 0) {
    throw new UserError('esm2 needs post-click action labels: set schema.labels.actions (e.g. [cart])', { key: 'schema.labels.actions' });
  }
  const y1 = tower('ctr');
  const y2 = tower('action');
  const y3 = tower('buy_after_action');
  const y4 = tower('buy_no_action');
  const pcvr = branch(y2, y3, y4);
  return {
    name: 'esm2',
    description: 'ESM2: click -> {DAction, OAction} -> buy, pCTCVR = y1 (y2 y3 + (1 - y2) y4)',
    towers: [
      { name: 'ctr', predicts: 'p(click | impression)', embeddings: 'shared' },
      { name: 'action', predicts: 'p(DAction | click)', embeddings: 'shared' },
      { name: 'buy_after_action', predicts: 'p(buy | DAction)', embeddings: 'shared' },
      { name: 'buy_no_action', predicts: 'p(buy | OAction)', embeddings: 'shared' },
    ],
    losses: [
      { name: 'ctr', prob: y1, label: 'click', space: 'impressions' },
      { name: 'ctavr', prob: product(y1, y2), label: 'action', space: 'impressions' },
      { name: 'ctcvr', prob: product(y1, pcvr), label: 'buy', space: 'impressions' },
      // Not in the paper: p(click, action, buy) = y1 y2 y3 against click & action & buy. The three
      // losses above see y3 and y4 only through their mixture y2 y3 + (1 - y2) y4, which many
      // (y3, y4) pairs fit equally well; this term tells the model which buys followed an action,
      // so y3 and y4 separate (bench/esm2-diagnose.ts). loss_weights.ctacvr: 0 gives the paper's ESM2.
      { name: 'ctacvr', prob: product(y1, y2, y3), label: 'action', labelAnd: 'buy', space: 'impressions' },
    ],
    outputs: { pctr: y1, pcvr, pctcvr: product(y1, pcvr), paction: y2 },
    needsActions: true,
  };
}

/**
 * The papers' BASE: a CTR model on all impressions and a CVR model trained on clicked rows only
 * (separate embeddings, i.e. two independent models trained in one pass); pCTCVR = pCTR x pCVR.
 */
function naiveCvr(): FunnelModelSpec {
  const ctr = tower('ctr');
  const cvr = tower('cvr');
  return {
    name: 'naive_cvr',
    description: 'BASE: CVR trained on clicked rows only (sample selection bias)',
    towers: [
      { name: 'ctr', predicts: 'p(click | impression)', embeddings: 'ctr' },
      { name: 'cvr', predicts: 'p(buy | click), fit on clicks', embeddings: 'cvr' },
    ],
    losses: [
      { name: 'ctr', prob: ctr, label: 'click', space: 'impressions' },
      { name: 'cvr', prob: cvr, label: 'buy', space: 'clicked' },
    ],
    outputs: { pctr: ctr, pcvr: cvr, pctcvr: product(ctr, cvr) },
    needsActions: false,
  };
}

/** DIVISION: separate CTR and CTCVR models on all impressions; pCVR = pCTCVR / pCTR, clipped to [0, 1]. */
function division(): FunnelModelSpec {
  const ctr = tower('ctr');
  const ctcvr = tower('ctcvr');
  return {
    name: 'division',
    description: 'DIVISION: pCVR = pCTCVR / pCTR from separately trained models',
    towers: [
      { name: 'ctr', predicts: 'p(click | impression)', embeddings: 'ctr' },
      { name: 'ctcvr', predicts: 'p(click and buy | impression)', embeddings: 'ctcvr' },
    ],
    losses: [
      { name: 'ctr', prob: ctr, label: 'click', space: 'impressions' },
      { name: 'ctcvr', prob: ctcvr, label: 'buy', space: 'impressions' },
    ],
    outputs: { pctr: ctr, pcvr: { kind: 'ratio', num: ctcvr, den: ctr }, pctcvr: ctcvr },
    needsActions: false,
  };
}

/**
 * An N-stage chain (impression -> click -> action_1 -> ... -> buy), stages taken from
 * schema.labels in funnel order. Tower k predicts p(stage k | stage k-1); the loss of stage k is
 * on the product of towers 1..k against stage k's label, over all impressions.
 */
function chain(schema: Schema): FunnelModelSpec {
  const stages = funnelStages(schema);
  const towers = stages.map((s, k) => ({
    name: `stage${k + 1}_${s}`,
    predicts: k === 0 ? `p(${s} | impression)` : `p(${s} | ${stages[k - 1]})`,
    embeddings: 'shared',
  }));
  const probs = towers.map((t) => tower(t.name));
  const cumulative = probs.map((_, k) => product(...probs.slice(0, k + 1)));
  return {
    name: 'chain',
    description: `chain: ${['impression', ...stages].join(' -> ')}`,
    towers,
    losses: stages.map((s, k) => ({
      name: k === 0 ? 'ctr' : k === stages.length - 1 ? 'ctcvr' : `stage${k + 1}`,
      prob: cumulative[k]!,
      label: k === 0 ? 'click' : k === stages.length - 1 ? 'buy' : (`col:${s}` as const),
      space: 'impressions' as const,
    })),
    outputs: {
      pctr: probs[0]!,
      pcvr: product(...probs.slice(1)),
      pctcvr: cumulative[cumulative.length - 1]!,
      ...(stages.length > 2 ? { paction: probs[1]! } : {}),
    },
    needsActions: stages.length > 2,
  };
}
