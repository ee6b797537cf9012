/**
 * Configuration of the ground-truth funnel simulator, its defaults (Ali-CCP-like sparsity) and
 * validation. Every bad value is a UserError naming the key.
 */
import { UserError } from '../errors.js';

/** Strengths of the effects that make up the click and conversion logits (all >= 0). */
export interface SynthEffects {
  /** Weight of item attractiveness in the click logit. */
  attractiveness: number;
  /** Weight of item quality in the conversion logit. */
  quality: number;
  /** Weight of the user-item affinity in the click subspace. */
  clickAffinity: number;
  /** Weight of the user-item affinity in the conversion subspace. */
  convAffinity: number;
  /** Click-logit bonus when the item's category is among the user's recent categories. */
  interestClick: number;
  /** Click-logit drop per position below the first. */
  positionDecay: number;
  /** Weight of the standardised log user activity in the click logit. */
  activityClick: number;
  /** Weight of the standardised log price in the conversion logit (price lowers conversion). */
  price: number;
  /** Std of the per-segment offsets added to the click and conversion logits. */
  segment: number;
  /**
   * Std of an unobserved per-impression purchase intent added to both the click and the
   * conversion logit: a hidden confounder, so p(buy | click, x) > p(buy | x) and a model trained
   * on clicks learns a biased CVR (the selection bias of real shops). 0 (the default): click and
   * conversion are independent given the features, and p(buy | click, x) = p(buy | x).
   */
  hiddenIntent: number;
}

export interface SynthConfig {
  seed: number;
  /** Impressions in total, across train/valid/test. */
  rows: number;
  users: number;
  items: number;
  categories: number;
  /** Number of user segments. */
  segments: number;
  /** Number of display positions (the context field). */
  positions: number;
  /** Dimension of user and item latent factors. */
  latentDim: number;
  /**
   * Dimensions of each affinity subspace: the click affinity uses dims [0, subspaceDim), the
   * conversion affinity dims [latentDim - subspaceDim, latentDim); they overlap when
   * 2 * subspaceDim > latentDim.
   */
  subspaceDim: number;
  /** Target p(click) over impressions. */
  ctr: number;
  /** Target p(buy | click) over clicked impressions. */
  cvr: number;
  /** Target p(cart | click) over clicked impressions. */
  cartRate: number;
  /** Log odds ratio of buy given cart against buy given no cart (ESM2's action signal). */
  cartLogOdds: number;
  /** Correlation of item attractiveness and quality (negative: selection bias). */
  attractQualityCorr: number;
  /** Fraction of impressions whose item comes from one of the user's recent categories. */
  interestExposure: number;
  /** Train/valid/test fractions (sum 1). */
  split: [number, number, number];
  /** Impressions drawn (from their own stream) to calibrate the intercepts by bisection. */
  calibrationRows: number;
  effects: SynthEffects;
  /**
   * Optional chain of more than three stages, e.g. ['click', 'apply', 'approve', 'activate']: one
   * label column per stage, each stage after the first reached from the previous one with
   * p(stage k | stage k-1) = sigmoid(b_k + sConv) (chain.ts). Empty: the click -> cart -> buy funnel.
   */
  stages: string[];
  /** Target p(stage k | stage k-1) for each stage after the first (default 0.5 each). */
  stageRates: number[];
}

export const DEFAULT_EFFECTS: SynthEffects = {
  attractiveness: 1.0,
  quality: 1.0,
  clickAffinity: 0.8,
  convAffinity: 0.8,
  interestClick: 0.5,
  positionDecay: 0.1,
  activityClick: 0.2,
  price: 0.35,
  segment: 0.3,
  hiddenIntent: 0,
};

export const DEFAULT_SYNTH_CONFIG: SynthConfig = {
  seed: 42,
  rows: 200_000,
  users: 2_000,
  items: 1_000,
  categories: 20,
  segments: 4,
  positions: 10,
  latentDim: 10,
  subspaceDim: 6,
  ctr: 0.04,
  cvr: 0.08,
  cartRate: 0.25,
  cartLogOdds: 2.5,
  attractQualityCorr: -0.7,
  interestExposure: 0.5,
  split: [0.8, 0.1, 0.1],
  calibrationRows: 200_000,
  effects: DEFAULT_EFFECTS,
  stages: [],
  stageRates: [],
};

/** A user-facing config: every key optional, effects may be given in part. */
export type SynthConfigInput = Partial<Omit<SynthConfig, 'effects'>> & { effects?: Partial<SynthEffects> };

/** Fill defaults and validate. Throws UserError naming the offending key. */
export function resolveSynthConfig(input: SynthConfigInput = {}): SynthConfig {
  for (const key of Object.keys(input)) {
    if (!(key in DEFAULT_SYNTH_CONFIG)) throw new UserError('unknown simulator option', { key });
  }
  for (const key of Object.keys(input.effects ?? {})) {
    if (!(key in DEFAULT_EFFECTS)) throw new UserError('unknown simulator effect', { key: `effects.${key}` });
  }
  const cfg: SynthConfig = {
    ...DEFAULT_SYNTH_CONFIG,
    ...input,
    effects: { ...DEFAULT_EFFECTS, ...(input.effects ?? {}) },
  } as SynthConfig;

  integer(cfg.seed, 'seed', -(2 ** 31), 2 ** 32 - 1);
  integer(cfg.rows, 'rows', 10, 100_000_000);
  integer(cfg.users, 'users', 1, 10_000_000);
  integer(cfg.items, 'items', 1, 10_000_000);
  integer(cfg.categories, 'categories', 1, 100_000);
  integer(cfg.segments, 'segments', 1, 1_000);
  integer(cfg.positions, 'positions', 1, 1_000);
  integer(cfg.latentDim, 'latentDim', 1, 256);
  integer(cfg.subspaceDim, 'subspaceDim', 1, cfg.latentDim);
  integer(cfg.calibrationRows, 'calibrationRows', 1_000, 10_000_000);
  if (cfg.categories > cfg.items) throw new UserError(`must not exceed items (${cfg.items})`, { key: 'categories' });
  probability(cfg.ctr, 'ctr');
  probability(cfg.cvr, 'cvr');
  probability(cfg.cartRate, 'cartRate');
  finite(cfg.cartLogOdds, 'cartLogOdds', 0, 20);
  finite(cfg.attractQualityCorr, 'attractQualityCorr', -1, 1);
  finite(cfg.interestExposure, 'interestExposure', 0, 1);
  if (!Array.isArray(cfg.split) || cfg.split.length !== 3) {
    throw new UserError('must be three fractions [train, valid, test]', { key: 'split' });
  }
  cfg.split.forEach((f, i) => finite(f, `split[${i}]`, 0, 1));
  const total = cfg.split[0] + cfg.split[1] + cfg.split[2];
  if (Math.abs(total - 1) > 1e-6) throw new UserError(`fractions must sum to 1, got ${total}`, { key: 'split' });
  for (const [k, v] of Object.entries(cfg.effects)) finite(v, `effects.${k}`, 0, 100);
  checkStages(cfg);
  return cfg;
}

const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkStages(cfg: SynthConfig): void {
  if (!Array.isArray(cfg.stages)) throw new UserError('must be a list of stage names', { key: 'stages' });
  if (!Array.isArray(cfg.stageRates)) throw new UserError('must be a list of rates', { key: 'stageRates' });
  if (cfg.stages.length === 0) {
    if (cfg.stageRates.length > 0) throw new UserError('needs stages', { key: 'stageRates' });
    return;
  }
  if (cfg.stages.length < 2) throw new UserError('a chain needs at least two stages (click and the final conversion)', { key: 'stages' });
  const taken = new Set<string>(['user_id', 'item_id', 'item_category', 'user_segment', 'position', 'recent_categories', 'item_price', 'user_activity']);
  cfg.stages.forEach((s, i) => {
    if (typeof s !== 'string' || !COLUMN_NAME.test(s) || s.startsWith('true_') || s === 'potential_buy') {
      throw new UserError(`must be a plain column name not starting with true_, got ${String(s)}`, { key: `stages[${i}]` });
    }
    if (taken.has(s)) throw new UserError(`'${s}' is already a column`, { key: `stages[${i}]` });
    taken.add(s);
  });
  if (cfg.stageRates.length === 0) cfg.stageRates = cfg.stages.slice(1).map(() => 0.5);
  if (cfg.stageRates.length !== cfg.stages.length - 1) {
    throw new UserError(`needs one rate per stage after the first (${cfg.stages.length - 1})`, { key: 'stageRates' });
  }
  cfg.stageRates.forEach((r, i) => probability(r, `stageRates[${i}]`));
}

function finite(v: unknown, key: string, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new UserError(`must be a number in [${min}, ${max}], got ${String(v)}`, { key });
  }
}

function integer(v: unknown, key: string, min: number, max: number): void {
  finite(v, key, min, max);
  if (!Number.isInteger(v)) throw new UserError(`must be an integer, got ${String(v)}`, { key });
}

function probability(v: unknown, key: string): void {
  if (typeof v !== 'number' || !(v > 0 && v < 1)) {
    throw new UserError(`must be a probability strictly between 0 and 1, got ${String(v)}`, { key });
  }
}
