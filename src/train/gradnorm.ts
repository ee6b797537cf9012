/**
 * GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018): loss weights w_i of the task
 * losses, updated every step so that the weighted gradient norms G_i = w_i * g_i (g_i = ||dL_i/dW||,
 * W the shared layer; the graph emits g_i, see gradNormOutputs in models/build-graph.ts) approach
 *   G_i* = mean_j(G_j) * r_i^alpha,   r_i = (L_i(t)/L_i(0)) / mean_j(L_j(t)/L_j(0))
 * (tasks that train slower get larger gradients). The GradNorm loss sum_i |G_i - G_i*| with the
 * targets held constant has d/dw_i = sign(G_i - G_i*) * g_i; one plain gradient step of rate lr,
 * then clamp w_i >= MIN_WEIGHT and renormalise so sum_i w_i = number of tasks.
 *
 * Only task losses take part; regularisers (AITM's calibrator, ESCM2's risks) keep their fixed
 * `model.loss_weights`. The state (weights in double precision, L_i(0)) is plain numbers so a
 * checkpoint keeps it exactly.
 */
import type { GradNormConfig } from '../config/types.js';

/** Floor of a weight before renormalising (the paper's weights must stay positive). */
export const MIN_WEIGHT = 1e-4;

export interface GradNormState {
  /** Current weights of the task losses, in task order. */
  weights: number[];
  /** L_i(0): the task losses of the first step (null before it). */
  initialLosses: number[] | null;
}

/**
 * One GradNorm update (pure): weights w, unweighted gradient norms g, current losses L and
 * initial losses L0 (all per task) -> new weights.
 */
export function gradNormUpdate(w: readonly number[], g: readonly number[], L: readonly number[], L0: readonly number[], cfg: GradNormConfig): number[] {
  const n = w.length;
  if (g.length !== n || L.length !== n || L0.length !== n) throw new Error(`gradNormUpdate: expected ${n} gradient norms and losses`);
  const G = w.map((wi, i) => wi * g[i]!);
  const meanG = G.reduce((a, b) => a + b, 0) / n;
  // Inverse training rate L_i(t)/L_i(0); a zero initial loss counts as "no progress" (ratio 1).
  const ratio = L.map((l, i) => (L0[i]! > 0 ? l / L0[i]! : 1));
  const meanRatio = ratio.reduce((a, b) => a + b, 0) / n;
  const next = w.map((wi, i) => {
    const r = meanRatio > 0 ? ratio[i]! / meanRatio : 1;
    const target = meanG * Math.pow(r, cfg.alpha);
    const grad = Math.sign(G[i]! - target) * g[i]!;
    return Math.max(MIN_WEIGHT, wi - cfg.lr * grad);
  });
  const sum = next.reduce((a, b) => a + b, 0);
  return next.map((x) => (x * n) / sum);
}

/**
 * The GradNorm weights of one training run. `taskIndex[k]` is the position of task k in the
 * graph's `loss_weights` input; `write` copies the current weights there (other entries, the
 * regularisers' fixed weights, are left alone).
 */
export class GradNorm {
  private weights: number[];
  private initial: number[] | null = null;

  /** `initial`: the full loss-weights array of the graph (from model.loss_weights). */
  constructor(readonly taskIndex: readonly number[], initial: ArrayLike<number>, readonly cfg: GradNormConfig) {
    const w = taskIndex.map((i) => initial[i]!);
    const sum = w.reduce((a, b) => a + b, 0);
    // Start on the constraint sum w = n (equal weights when the configured ones sum to 0).
    this.weights = sum > 0 ? w.map((x) => (x * w.length) / sum) : w.map(() => 1);
  }

  /** Current task weights (a copy). */
  get current(): number[] {
    return this.weights.slice();
  }

  /** Update from one step's task losses and unweighted gradient norms (task order). Non-finite input is skipped. */
  update(losses: readonly number[], norms: readonly number[]): void {
    if (![...losses, ...norms].every(Number.isFinite)) return;
    if (this.initial === null) this.initial = losses.slice();
    this.weights = gradNormUpdate(this.weights, norms, losses, this.initial, this.cfg);
  }

  write(into: Float32Array): void {
    this.taskIndex.forEach((i, k) => (into[i] = this.weights[k]!));
  }

  state(): GradNormState {
    return { weights: this.weights.slice(), initialLosses: this.initial === null ? null : this.initial.slice() };
  }

  restore(s: GradNormState): void {
    if (s.weights.length !== this.weights.length || (s.initialLosses !== null && s.initialLosses.length !== this.weights.length)) {
      throw new RangeError(`GradNorm state has ${s.weights.length} weights, expected ${this.weights.length}`);
    }
    this.weights = s.weights.slice();
    this.initial = s.initialLosses === null ? null : s.initialLosses.slice();
  }
}
