import type { LabelKey } from '../data/batch.js';
import type { ProbExpr } from './funnel.js';

/**
 * Declarative description of a funnel model: which towers exist, which embeddings they read,
 * what each loss is attached to, and how the three user-facing probabilities are composed.
 * ESMM, ESM2, the baselines and N-stage chains are all values of this type (models/registry.ts).
 */

export interface TowerDecl {
  /** Tower name, used for parameter names (ctr, cvr, ...). */
  name: string;
  /** What the tower predicts, for reports. */
  predicts: string;
  /** Embedding group the tower reads (towers sharing a group share embeddings). */
  embeddings: string;
  /**
   * AITM: the tower whose hidden vector is transferred into this one through the adaptive
   * information transfer module (must be declared earlier).
   */
  transferFrom?: string;
  /**
   * A tower declared earlier whose logit is added to this tower's own: the tower learns how far it
   * departs from that one (ESM2's y3 = p(buy | DAction) and y2 = p(DAction | click) over
   * y4 = p(buy | OAction)), so every buy and every action trains the shared part and only the
   * departure needs the rarer rows.
   */
  logitBase?: string;
}

export interface LossDecl {
  /** Loss name (ctr, ctcvr, ...), the key of `model.loss_weights`. */
  name: string;
  prob: ProbExpr;
  label: LabelKey;
  /** When set, the loss's label is `label` AND `labelAnd` (ESM2's click -> action -> buy path). */
  labelAnd?: LabelKey;
  /**
   * Rows the loss averages over. `impressions`: the entire space (ESMM's point). `clicked`: only
   * rows with click = 1 (the naive CVR baseline, which suffers sample selection bias).
   */
  space: 'impressions' | 'clicked';
}

/**
 * Loss terms that are not a BCE against one label (models/regularizers.ts builds them):
 * - calibrator: AITM's behavioural expectation calibrator over consecutive stage probabilities;
 * - ipw / dr: ESCM2's counterfactual CVR risk, propensity pCTR (no gradient into it); `dr` also
 *   trains an imputation tower predicting the CVR error (its loss is named `imputation`).
 */
export type RegularizerDecl =
  | { kind: 'calibrator'; name: string; stages: ProbExpr[] }
  | { kind: 'ipw'; name: string; cvr: ProbExpr; propensity: ProbExpr }
  | { kind: 'dr'; name: string; cvr: ProbExpr; propensity: ProbExpr; imputationTower: string; imputationLoss: string };

/** How a user-facing probability is computed from towers. */
export type OutputExpr = ProbExpr | { kind: 'ratio'; num: ProbExpr; den: ProbExpr };

export interface FunnelModelSpec {
  name: string;
  description: string;
  towers: TowerDecl[];
  losses: LossDecl[];
  /** Extra loss terms (AITM's calibrator, ESCM2's counterfactual risks). */
  regularizers?: RegularizerDecl[];
  outputs: { pctr: OutputExpr; pcvr: OutputExpr; pctcvr: OutputExpr; paction?: OutputExpr };
}

export function isRatio(e: OutputExpr): e is { kind: 'ratio'; num: ProbExpr; den: ProbExpr } {
  return e.kind === 'ratio';
}

/** Tower name -> the tower whose logit it adds (TowerDecl.logitBase), for the towers that declare one. */
export function logitBases(spec: FunnelModelSpec): Record<string, string> {
  return Object.fromEntries(spec.towers.flatMap((t) => (t.logitBase !== undefined ? [[t.name, t.logitBase]] : [])));
}

/** Embedding groups used by a spec, in first-use order. */
export function embeddingGroups(spec: FunnelModelSpec): string[] {
  const out: string[] = [];
  for (const t of spec.towers) if (!out.includes(t.embeddings)) out.push(t.embeddings);
  return out;
}
