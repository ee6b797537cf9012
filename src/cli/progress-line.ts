/**
 * The one rewritten progress line on stderr. On a terminal it shows elapsed time, rate and ETA
 * in at most 79 columns; when stderr is not a terminal (logs, CI, pipes) it prints nothing, and
 * the commands print one line per epoch or phase instead.
 */
import type { TrainProgress } from '../train/progress.js';
import { DEFAULT_TASK_NAMES, type TaskNames } from '../data/task-names.js';

const COLUMNS = 79;
let active = false;

export function isTerminal(): boolean {
  return process.stderr.isTTY === true;
}

/** Rewrite the progress line (terminals only). */
export function showProgress(text: string): void {
  if (!isTerminal()) return;
  process.stderr.write(`\r${text.length > COLUMNS ? text.slice(0, COLUMNS) : text.padEnd(COLUMNS)}`);
  active = true;
}

/** Clear the progress line so the next log line starts clean. */
export function clearProgress(): void {
  if (!active) return;
  process.stderr.write(`\r${' '.repeat(COLUMNS)}\r`);
  active = false;
}

/** 75 -> "1:15", 4000 -> "1:06:40". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** 9840 -> "9.8k", 1234567 -> "1.2M", 312 -> "312". */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '?';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return String(Math.round(perSecond));
}

/** 1234567 -> "1,234,567": counts always print as integers. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/**
 * Tracks a training run's progress callbacks and formats them with elapsed time and ETA over
 * all remaining epochs. The clock starts at the first callback (about a second into training).
 */
export class TrainTicker {
  private t0 = 0;
  private steps0 = 0;
  private last = 0;
  private readonly label: string;

  constructor(label = '') {
    this.label = label;
  }

  line(p: TrainProgress, now = performance.now()): string {
    const done = (p.epoch - 1) * p.stepsPerEpoch + p.step;
    const total = p.epochs * p.stepsPerEpoch;
    // A new run (the next model of a comparison) starts the clock again.
    if (this.t0 === 0 || done < this.last) {
      this.t0 = now - 1000;
      this.steps0 = 0;
    }
    this.last = done;
    const elapsed = (now - this.t0) / 1000;
    const stepsPerSecond = (done - this.steps0) / Math.max(1e-3, elapsed);
    const eta = (total - done) / Math.max(1e-9, stepsPerSecond);
    const frac = p.stepsPerEpoch === 0 ? 1 : p.step / p.stepsPerEpoch;
    const width = 10;
    const filled = Math.round(frac * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const loss = p.losses.loss !== undefined ? `  loss ${p.losses.loss.toFixed(4)}` : '';
    return `${this.label}epoch ${p.epoch}/${p.epochs} [${bar}] ${Math.round(frac * 100)}%  ${formatRate(p.samplesPerSecond)} rows/s  ${formatDuration(elapsed)} ETA ${formatDuration(eta)}${loss}`;
  }
}

/** Minimal shape of an epoch record (src/train/trainer.ts EpochRecord). */
interface EpochLike {
  epoch: number;
  seconds: number;
  samplesPerSecond: number;
  train: Record<string, number>;
  valid?: Record<string, number>;
}

/** Console lines stay within this width; a longer epoch line puts its validation AUCs on a second line. */
const EPOCH_LINE_WIDTH = 100;

/**
 * One line per epoch (also when stderr is not a terminal), under 100 columns. Validation AUCs are
 * labelled by the schema's task names ("income 0.881"); by default ctr, ctcvr, cvr@clk, action.
 */
export function formatEpochLine(r: EpochLike, epochs: number, label = '', names?: TaskNames): string {
  const v = r.valid;
  const named = names !== undefined && names.cvr !== DEFAULT_TASK_NAMES.cvr;
  const tasks: [string, string][] = named
    ? [['auc_ctr', names.ctr], ['auc_ctcvr', names.ctcvr], ['auc_cvr_clicked', names.cvr], ['auc_action', names.action]]
    : [['auc_ctr', 'ctr'], ['auc_ctcvr', 'ctcvr'], ['auc_cvr_clicked', 'cvr@clk'], ['auc_action', 'action']];
  const auc = (k: string, name: string): string => (v?.[k] !== undefined && Number.isFinite(v[k]) ? ` ${name} ${v[k]!.toFixed(3)}` : '');
  const valid = v !== undefined ? `valid AUC${tasks.map(([k, name]) => auc(k, name)).filter((x) => x !== '').join(named ? ',' : '')}` : '';
  const head = `${label}epoch ${r.epoch}/${epochs}  loss ${r.train.loss?.toFixed(4) ?? '?'}`;
  const tail = `${formatRate(r.samplesPerSecond)}/s  ${formatDuration(r.seconds)}`;
  const one = `${head}${valid !== '' ? `  ${valid}` : ''}  ${tail}`;
  return one.length <= EPOCH_LINE_WIDTH || valid === '' ? one : `${head}  ${tail}\n${label}  ${valid}`;
}
