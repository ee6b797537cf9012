/**
 * Degenerate-run guard (issue 13): symptoms that a run "succeeded" without learning anything
 * useful. Each one is printed as a warning naming the symptom and its likely cause, recorded in
 * metrics.json (`warnings`), and with `train.strict: true` it is an error instead.
 *
 * - loss_spike: a step's task loss far above the running median of the steps before it
 *   (divergence). The task loss is the weighted total less the regularisers' terms: ESCM2-DR's
 *   imputation loss is a 1/pCTR-weighted squared log-loss, heavy-tailed by construction. At 1M
 *   impressions of the sparse simulator regime it alone put 102 of 1,564 default escm2_dr steps
 *   over 10x the median (mean at those steps: imputation 1.88 of a 2.12 total) in a run that
 *   reached pCVR AUC .786, so the warning told users a healthy run was diverging;
 * - pinned_output: most rows of an output sit at a clamp (pCVR = 1 from a ratio, a saturated
 *   sigmoid at 0 or 1);
 * - constant_output: an output barely varies across rows (nothing was learned, or a dead tower);
 * - auc_half: an AUC of exactly 0.5 on both classes (constant or tied scores).
 */
import type { FlatMetrics } from '../eval/evaluate.js';

export interface RunWarning {
  symptom: 'loss_spike' | 'pinned_output' | 'constant_output' | 'auc_half';
  message: string;
}

/** Steps of history the running median is taken over, and how many it needs before judging. */
const MEDIAN_WINDOW = 101;
const MIN_STEPS = 3;
/** A step loss this many times the running median is a spike. */
export const SPIKE_FACTOR = 10;
/** Share of rows at a clamp that makes an output "pinned". */
const PINNED_SHARE = 0.5;
/** Relative spread (std / mean) below which an output is "constant". */
const CONSTANT_SPREAD = 1e-3;

/** Watches step losses for spikes; keeps the first spike and a count. */
export class LossSpikeWatch {
  private readonly window: number[] = [];
  private spikes = 0;
  private first: { step: number; loss: number; median: number } | undefined;

  /** `penalties`: each regulariser's name and fixed weight, taken out of the watched loss. */
  constructor(private readonly penalties: ReadonlyMap<string, number> = new Map()) {}

  /** The loss this watch judges: a step's weighted total less its regularisers' weighted terms. */
  taskLoss(total: number, terms: Record<string, number>): number {
    let loss = total;
    for (const [name, w] of this.penalties) loss -= w * (terms[name] ?? 0);
    return loss;
  }

  /** Record step `step`'s task loss (1-based). */
  observe(step: number, loss: number): void {
    if (this.window.length >= MIN_STEPS) {
      const median = medianOf(this.window);
      if (loss > SPIKE_FACTOR * median) {
        this.spikes++;
        this.first ??= { step, loss, median };
      }
    }
    this.window.push(loss);
    if (this.window.length > MEDIAN_WINDOW) this.window.shift();
  }

  warnings(): RunWarning[] {
    if (this.first === undefined) return [];
    const f = this.first;
    return [{
      symptom: 'loss_spike',
      message: `step ${this.penalties.size > 0 ? 'task loss' : 'loss'} ${fmt(f.loss)} at step ${f.step} is over ${SPIKE_FACTOR}x the running median ${fmt(f.median)} (${this.spikes} such steps): ` +
        'the run is diverging; likely cause: learning rate too high (lower train.learning_rate or train.embedding_learning_rate, or set train.clip_norm)',
    }];
  }
}

/** Checks one split's predictions and metrics for pinned or constant outputs and AUCs of exactly 0.5. */
export function checkPredictions(outputs: Record<string, Float32Array | undefined>, metrics: FlatMetrics): RunWarning[] {
  const out: RunWarning[] = [];
  for (const [name, p] of Object.entries(outputs)) {
    if (p === undefined || p.length === 0) continue;
    let high = 0;
    let low = 0;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < p.length; i++) {
      const x = p[i]!;
      if (x >= 1 - 1e-6) high++;
      else if (x <= 1e-9) low++;
      sum += x;
      sq += x * x;
    }
    const n = p.length;
    const mean = sum / n;
    const std = Math.sqrt(Math.max(0, sq / n - mean * mean));
    if (high / n >= PINNED_SHARE || low / n >= PINNED_SHARE) {
      const at = high >= low ? 1 : 0;
      out.push({
        symptom: 'pinned_output',
        message: `${name} is pinned at ${at} on ${(100 * Math.max(high, low) / n).toFixed(1)}% of rows: ` +
          (at === 1 ? 'a ratio clamped at 1 (division: pCTCVR above pCTR) or a saturated sigmoid; ' : 'a saturated sigmoid; ') +
          'likely cause: divergence (learning rate too high) or a model whose output is a clamped ratio',
      });
    } else if (std <= CONSTANT_SPREAD * Math.max(Math.abs(mean), 1e-6)) {
      out.push({
        symptom: 'constant_output',
        message: `${name} is near-constant (mean ${fmt(mean)}, std ${fmt(std)} over ${n} rows): the model ignores its features; ` +
          'likely cause: features that carry no signal (one value), a dead tower (ReLUs off after a diverged step) or too few steps',
      });
    }
  }
  for (const [k, v] of Object.entries(metrics)) {
    if (k.startsWith('auc_') && k !== 'auc_macro' && v === 0.5) {
      out.push({ symptom: 'auc_half', message: `${k} is exactly 0.5: the scores do not separate the classes at all (constant or fully tied predictions)` });
    }
  }
  return out;
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(x: number): string {
  return Math.abs(x) >= 0.01 || x === 0 ? x.toFixed(4) : x.toExponential(3);
}
