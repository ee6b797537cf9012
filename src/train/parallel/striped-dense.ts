/**
 * The dense optimizer of the sharded step, run in stripes by the workers: Adam, AdamW and SGD are
 * elementwise, so worker k steps the parameters of its stripe of the summed gradient (the stripe
 * it has just reduced) with the same formulas as DenseOptimizer (optim/adam.ts, optim/sgd.ts), and
 * the result is the one DenseOptimizer would give. Parameters and moments live in shared memory;
 * the main thread keeps the step count and learning rate, and reads and writes the moments for
 * checkpoints in DenseOptimizer's state layout. Gradient clipping needs the norm of the whole
 * gradient, so with train.clip_norm the main thread runs DenseOptimizer instead (sharded-step.ts).
 */
import { UserError } from '../../errors.js';
import { adamStep } from '../../optim/adam.js';
import type { DenseHyper, DenseOptimizerState } from '../../optim/dense.js';
import { sgdStep } from '../../optim/sgd.js';
import type { DenseOptimizerHandle } from '../graph-adam.js';
import type { ShardPlan } from './shard-protocol.js';

/** What one apply phase's dense update needs: the settings (learning rate included) and the step number (1-based). */
export interface DenseStepOrder {
  hyper: DenseHyper;
  step: number;
}

/** Moment buffers per parameter: Adam/AdamW 2 (m, v), SGD with momentum 1, plain SGD 0. */
export function momentCount(h: DenseHyper): number {
  return h.type === 'sgd' ? (h.momentum > 0 ? 1 : 0) : 2;
}

/** The main thread's side: step count, learning rate, and the moments for checkpoints. */
export class StripedDense implements DenseOptimizerHandle {
  private stepCount = 0;
  private readonly hyper: DenseHyper;

  constructor(hyper: DenseHyper, private readonly moments: Float32Array, private readonly plan: ShardPlan) {
    this.hyper = { ...hyper };
  }

  get steps(): number {
    return this.stepCount;
  }

  get learningRate(): number {
    return this.hyper.lr;
  }

  setLearningRate(lr: number): void {
    if (!(Number.isFinite(lr) && lr >= 0)) throw new UserError(`optimizer lr must be a finite number >= 0, got ${lr}`);
    this.hyper.lr = lr;
  }

  /** The order for the next step's apply phase (counts the step). */
  next(): DenseStepOrder {
    this.stepCount++;
    return { hyper: { ...this.hyper }, step: this.stepCount };
  }

  /** DenseOptimizer's layout: the first moment of every parameter, then the second (Adam). */
  state(): DenseOptimizerState {
    const buffers: Float32Array[] = [];
    const total = this.plan.gradTotal;
    for (let k = 0; k < momentCount(this.hyper); k++) {
      for (const p of this.plan.paramGrads) buffers.push(this.moments.slice(k * total + p.offset, k * total + p.offset + p.length));
    }
    return { step: this.stepCount, buffers };
  }

  restore(s: DenseOptimizerState): void {
    if (!Number.isInteger(s.step) || s.step < 0) throw new RangeError(`DenseOptimizer.restore: bad step ${s.step}`);
    const grads = this.plan.paramGrads;
    const count = momentCount(this.hyper);
    if (s.buffers.length !== count * grads.length || s.buffers.some((b, i) => b.length !== grads[i % grads.length]!.length)) {
      throw new RangeError('DenseOptimizer.restore: state does not match this optimizer\'s parameters');
    }
    const total = this.plan.gradTotal;
    s.buffers.forEach((b, i) => this.moments.set(b, Math.floor(i / grads.length) * total + grads[i % grads.length]!.offset));
    this.stepCount = s.step;
  }
}

/**
 * The worker's side: step the parameters of gradient positions [lo, hi) (a stripe may cut
 * through several parameters) in `params` (graph-parameter layout), from `grad` and `moments`
 * (gradient layout).
 */
export function stepDenseStripe(plan: ShardPlan, lo: number, hi: number, params: Float32Array, grad: Float32Array, moments: Float32Array, order: DenseStepOrder): void {
  const p: Float32Array[] = [];
  const g: Float32Array[] = [];
  const m: Float32Array[][] = [[], []];
  const total = plan.gradTotal;
  for (const pg of plan.paramGrads) {
    const a = Math.max(lo, pg.offset);
    const b = Math.min(hi, pg.offset + pg.length);
    if (a >= b) continue;
    const at = pg.paramOffset + (a - pg.offset);
    p.push(params.subarray(at, at + (b - a)));
    g.push(grad.subarray(a, b));
    for (let k = 0; k < 2; k++) m[k]!.push(moments.subarray(Math.min(k * total + a, moments.length), Math.min(k * total + b, moments.length)));
  }
  const h = order.hyper;
  if (h.type === 'sgd') sgdStep(p, g, m[0]!, h);
  else adamStep(p, g, m[0]!, m[1]!, order.step, { ...h, decoupled: h.type === 'adamw' });
}
