/**
 * Level refit (train.level_refit, issue 17): at the end of every epoch the CTR and CVR towers'
 * output biases move to the joint optimum of the model's own objective over the training rows
 * (level-objective.ts). With a constant learning rate the last steps of an epoch leave the output
 * level wherever their few conversions pushed it: on the simulator's sparse regime (about one buy
 * per batch) training-split pCTCVR / buys swung 0.46-1.34 between epochs for ESMM and ESCM2
 * alike, and the best CVR-logit shift reached 0.3-1.0 (bench/escm2-convergence.ts). Two exact
 * one-dimensional minimisations put both shifts at 0, so the level is at the objective's optimum
 * after every epoch while every other weight is untouched; pCVR's ranking does not change.
 *
 * Defined for the models whose objective level-objective.ts writes out (ESMM, ESCM2-IPW/DR) with
 * fixed loss weights, on training rows held in memory (one process, any train.workers).
 *
 * Off by default: in default runs (bench/quality.ts, 200k impressions, 4 regimes x 3 seeds x
 * esmm / escm2_ipw / escm2_dr, towers 128-64) it moved test pCVR AUC by -.008..+.010 (mean .0000;
 * 14 up, 15 down) and brought entire-space pCVR calibration closer to 1 in 14 of 36 runs: on held-out
 * rows that calibration is dominated by what the level cannot fix (extrapolation to impressions
 * that are almost never clicked, memorised clicked rows).
 */
import { DEFAULT_LOSS_WEIGHTS } from '../config/defaults.js';
import type { EsmmConfig, ModelConfig } from '../config/types.js';
import type { EncodedChunk } from '../data/batch.js';
import { takeEncodedRows } from '../features/encoded-rows.js';
import type { FunnelModel } from '../models/model.js';
import { bestLevels, levelObjective, type LevelRows, type LevelSettings } from './level-objective.js';

export const LEVEL_REFIT_MODELS = ['esmm', 'escm2_ipw', 'escm2_dr'] as const;
/** Training rows the refit scores at most: every clicked row, and a stride sample of the rest beyond this. */
const MAX_ROWS = 1_000_000;

export interface LevelShift {
  ctr: number;
  cvr: number;
}

/** Why train.level_refit cannot apply to this model config, or undefined. */
export function levelRefitUnsupported(m: ModelConfig): string | undefined {
  if (!(LEVEL_REFIT_MODELS as readonly string[]).includes(m.name)) return `is defined for ${LEVEL_REFIT_MODELS.join(', ')}, not model '${m.name}'`;
  if (m.loss_weighting !== 'fixed') return `needs fixed loss weights (model.loss_weighting is '${m.loss_weighting}')`;
  return undefined;
}

/** The objective's settings as this config's training graph uses them. */
export function levelSettings(config: EsmmConfig): LevelSettings {
  const w = (n: string): number => config.model.loss_weights[n] ?? DEFAULT_LOSS_WEIGHTS[n] ?? 1;
  const risk = config.model.name === 'escm2_ipw' ? 'cvr_ipw' : config.model.name === 'escm2_dr' ? 'cvr_dr' : undefined;
  const e = config.model.escm2;
  return { wCtr: w('ctr'), wCtcvr: w('ctcvr'), lambda: risk === undefined ? 0 : w(risk), floor: e.propensity_floor, clip: e.propensity_clip, selfNormalize: e.self_normalize };
}

/**
 * The rows the refit scores: all of them up to MAX_ROWS; beyond, every clicked row and every k-th
 * other row, weighted k, so each term's sums stay unbiased.
 */
export function refitRows(train: EncodedChunk, maxRows = MAX_ROWS): { rows: EncodedChunk; weight?: Float32Array } {
  if (train.rows <= maxRows) return { rows: train };
  const click = train.labels.click;
  let clicked = 0;
  for (let i = 0; i < train.rows; i++) if (click[i] === 1) clicked++;
  const stride = Math.max(1, Math.ceil((train.rows - clicked) / Math.max(1, maxRows - clicked)));
  const idx: number[] = [];
  const weight: number[] = [];
  let k = 0;
  for (let i = 0; i < train.rows; i++) {
    if (click[i] === 1) {
      idx.push(i);
      weight.push(1);
    } else if (k++ % stride === 0) {
      idx.push(i);
      weight.push(stride);
    }
  }
  return { rows: takeEncodedRows(train, idx), weight: Float32Array.from(weight) };
}

/** Move the CTR and CVR output biases of `model` to J's optimum on `train`; returns the shifts. */
export async function refitLevels(model: FunnelModel, train: EncodedChunk): Promise<LevelShift> {
  const { pctr, pcvr } = model.spec.outputs;
  if (pctr.kind !== 'tower' || pcvr.kind !== 'tower') throw new Error(`level refit: model '${model.config.model.name}' has no pCTR and pCVR towers`);
  const ctrBias = model.params.get(`tower_${pctr.tower}/head/b`);
  const cvrBias = model.params.get(`tower_${pcvr.tower}/head/b`);
  if (ctrBias?.length !== 1 || cvrBias?.length !== 1) throw new Error('level refit: a tower has no scalar output bias');
  const { rows, weight } = refitRows(train);
  const p = await model.predictUncalibrated(rows);
  const levelRows: LevelRows = { click: rows.labels.click, buy: rows.labels.buy, pctr: p.pctr, pcvr: p.pcvr, ...(weight !== undefined ? { weight } : {}) };
  const shift = fitLevels(levelRows, levelSettings(model.config));
  ctrBias[0] = ctrBias[0]! + shift.ctr;
  cvrBias[0] = cvrBias[0]! + shift.cvr;
  return shift;
}

/**
 * J's optimal shifts on these rows; none (0, 0) when the rows cannot place a level: no click or no
 * buy among them (the optimum would be the search's bound, and again every epoch), or predictions
 * that are not finite (a diverged run, which the guard reports).
 */
export function fitLevels(rows: LevelRows, s: LevelSettings): LevelShift {
  let clicks = 0;
  let buys = 0;
  for (let i = 0; i < rows.click.length; i++) {
    clicks += rows.click[i]!;
    buys += rows.click[i]! * rows.buy[i]!;
  }
  if (clicks === 0 || buys === 0 || !Number.isFinite(levelObjective(rows, s, 0).total)) return { ctr: 0, cvr: 0 };
  const { alpha, delta } = bestLevels(rows, s);
  return { ctr: alpha, cvr: delta };
}
