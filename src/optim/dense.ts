/**
 * Optimizers for dense parameters (the towers' weights), updating the parameter arrays IN PLACE:
 * onnxruntime tensors wrap them by reference, so the next run sees the new values.
 */
import { UserError } from '../errors.js';
import { adamStep } from './adam.js';
import { clipGradNorm } from './clip.js';
import { sgdStep } from './sgd.js';

export { clipGradNorm } from './clip.js';

export type DenseOptimizerConfig =
  /** weightDecay: L2 added to the gradient for 'adam' (default 0), decoupled for 'adamw' (default 0.01). */
  | { type: 'adam' | 'adamw'; lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number }
  | { type: 'sgd'; lr: number; momentum?: number; weightDecay?: number /* L2 */ };

/** A dense optimizer's settings with every default filled in. */
export type DenseHyper = Required<Extract<DenseOptimizerConfig, { type: 'sgd' }>> | Required<Extract<DenseOptimizerConfig, { type: 'adam' | 'adamw' }>>;

export interface DenseOptimizerState {
  step: number;
  /** adam/adamw: first moments of every parameter, then second moments; sgd: momentum buffers (none without momentum). */
  buffers: Float32Array[];
}

function option(value: number | undefined, fallback: number, name: string, ok: (v: number) => boolean, range: string): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new UserError(`optimizer ${name} must be ${range}, got ${String(value)}`);
  return v;
}

export class DenseOptimizer {
  private readonly params: Float32Array[];
  private readonly cfg: DenseHyper;
  private readonly clipNorm: number | undefined;
  private readonly buffers: Float32Array[];
  /** Per-parameter multipliers of lr (model.towers.NAME.lr_scale), or undefined for all 1. */
  private readonly lrScales: readonly number[] | undefined;
  private stepCount = 0;

  constructor(params: Float32Array[], cfg: DenseOptimizerConfig & { clipNorm?: number }, lrScales?: readonly number[]) {
    this.params = params;
    if (lrScales !== undefined && lrScales.length !== params.length) throw new RangeError(`DenseOptimizer: ${lrScales.length} lr scales for ${params.length} parameters`);
    this.lrScales = lrScales;
    const lr = option(cfg.lr, NaN, 'lr', (v) => v >= 0, 'a finite number >= 0');
    if (cfg.clipNorm !== undefined) option(cfg.clipNorm, 0, 'clipNorm', (v) => v > 0, '> 0');
    this.clipNorm = cfg.clipNorm;
    if (cfg.type === 'adam' || cfg.type === 'adamw') {
      this.cfg = {
        type: cfg.type,
        lr,
        beta1: option(cfg.beta1, 0.9, 'beta1', (v) => v >= 0 && v < 1, 'in [0, 1)'),
        beta2: option(cfg.beta2, 0.999, 'beta2', (v) => v >= 0 && v < 1, 'in [0, 1)'),
        eps: option(cfg.eps, 1e-8, 'eps', (v) => v > 0, '> 0'),
        weightDecay: option(cfg.weightDecay, cfg.type === 'adamw' ? 0.01 : 0, 'weightDecay', (v) => v >= 0, '>= 0'),
      };
      this.buffers = [...params.map((p) => new Float32Array(p.length)), ...params.map((p) => new Float32Array(p.length))];
    } else if (cfg.type === 'sgd') {
      this.cfg = {
        type: 'sgd',
        lr,
        momentum: option(cfg.momentum, 0, 'momentum', (v) => v >= 0 && v < 1, 'in [0, 1)'),
        weightDecay: option(cfg.weightDecay, 0, 'weightDecay', (v) => v >= 0, '>= 0'),
      };
      this.buffers = this.cfg.momentum > 0 ? params.map((p) => new Float32Array(p.length)) : [];
    } else {
      const type = (cfg as { type: unknown }).type; // config may come from YAML
      throw new UserError(`unknown optimizer type ${JSON.stringify(type)} (expected adam, adamw or sgd)`);
    }
  }

  get learningRate(): number {
    return this.cfg.lr;
  }

  /** The settings with defaults filled in (a copy), and the clipping norm: for a striped update elsewhere (train/parallel). */
  get settings(): { hyper: DenseHyper; clipNorm: number | undefined } {
    return { hyper: { ...this.cfg }, clipNorm: this.clipNorm };
  }

  get steps(): number {
    return this.stepCount;
  }

  /** One step. With clipNorm, the gradients are clipped IN PLACE first. */
  step(grads: Float32Array[]): void {
    if (grads.length !== this.params.length) {
      throw new RangeError(`DenseOptimizer.step: ${grads.length} gradients for ${this.params.length} parameters`);
    }
    for (let k = 0; k < grads.length; k++) {
      if (grads[k].length !== this.params[k].length) {
        throw new RangeError(`DenseOptimizer.step: gradient ${k} has ${grads[k].length} values, parameter has ${this.params[k].length}`);
      }
    }
    if (this.clipNorm !== undefined) clipGradNorm(grads, this.clipNorm);
    this.stepCount++;
    const cfg = this.cfg;
    if (cfg.type === 'sgd') {
      sgdStep(this.params, grads, this.buffers, cfg, this.lrScales);
    } else {
      const n = this.params.length;
      adamStep(this.params, grads, this.buffers.slice(0, n), this.buffers.slice(n), this.stepCount, {
        ...cfg,
        decoupled: cfg.type === 'adamw',
      }, this.lrScales);
    }
  }

  setLearningRate(lr: number): void {
    this.cfg.lr = option(lr, NaN, 'lr', (v) => v >= 0, 'a finite number >= 0');
  }

  /** A copy of the step count and buffers (for checkpoints). */
  state(): DenseOptimizerState {
    return { step: this.stepCount, buffers: this.buffers.map((b) => b.slice()) };
  }

  restore(s: DenseOptimizerState): void {
    if (!Number.isInteger(s.step) || s.step < 0) throw new RangeError(`DenseOptimizer.restore: bad step ${s.step}`);
    if (s.buffers.length !== this.buffers.length || s.buffers.some((b, k) => b.length !== this.buffers[k].length)) {
      throw new RangeError('DenseOptimizer.restore: state does not match this optimizer\'s parameters');
    }
    s.buffers.forEach((b, k) => this.buffers[k].set(b));
    this.stepCount = s.step;
  }
}
