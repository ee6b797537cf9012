import { describe, expect, it } from 'vitest';
import { clipGradNorm, DenseOptimizer } from '../../src/optim/dense.js';

function floats(values: number[]): Float32Array {
  return Float32Array.from(values);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-8 + rel * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]}`);
  }
}

const GRADS = [
  [0.5, -1.0, 0.25, 2.0, -0.1],
  [-0.3, 0.7, 0.0, -1.5, 0.9],
  [1.2, 0.1, -0.4, 0.3, 0.05],
];
const P0 = [0.1, -0.2, 0.3, 0.4, -0.5];

/** Reference Adam/AdamW (PyTorch's documented algorithm), float64. */
function referenceAdam(decoupled: boolean, lr: number, b1: number, b2: number, eps: number, wd: number): number[][] {
  const p = [...P0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const history: number[][] = [];
  GRADS.forEach((grad, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      let g = grad[i];
      if (decoupled) p[i] *= 1 - lr * wd;
      else g += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      p[i] -= (lr * (m[i] / (1 - b1 ** t))) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
    }
    history.push([...p]);
  });
  return history;
}

function referenceSgd(lr: number, momentum: number, wd: number): number[][] {
  const p = [...P0];
  const buf = p.map(() => 0);
  return GRADS.map((grad) => {
    for (let i = 0; i < p.length; i++) {
      const g = grad[i] + wd * p[i];
      buf[i] = momentum * buf[i] + g;
      p[i] -= lr * (momentum > 0 ? buf[i] : g);
    }
    return [...p];
  });
}

describe('DenseOptimizer against reference formulas', () => {
  const cases = [
    { name: 'adam', cfg: { type: 'adam', lr: 0.01 } as const, ref: referenceAdam(false, 0.01, 0.9, 0.999, 1e-8, 0) },
    { name: 'adam + L2', cfg: { type: 'adam', lr: 0.05, beta1: 0.8, beta2: 0.9, eps: 1e-6, weightDecay: 0.1 } as const, ref: referenceAdam(false, 0.05, 0.8, 0.9, 1e-6, 0.1) },
    { name: 'adamw', cfg: { type: 'adamw', lr: 0.05, weightDecay: 0.2 } as const, ref: referenceAdam(true, 0.05, 0.9, 0.999, 1e-8, 0.2) },
    { name: 'adamw default decay 0.01', cfg: { type: 'adamw', lr: 0.05 } as const, ref: referenceAdam(true, 0.05, 0.9, 0.999, 1e-8, 0.01) },
    { name: 'sgd', cfg: { type: 'sgd', lr: 0.1 } as const, ref: referenceSgd(0.1, 0, 0) },
    { name: 'sgd momentum + L2', cfg: { type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0.05 } as const, ref: referenceSgd(0.1, 0.9, 0.05) },
  ];
  for (const { name, cfg, ref } of cases) {
    it(`${name}: three steps match, parameters updated in place`, () => {
      const param = floats(P0);
      const other = floats([1, 2]);
      const opt = new DenseOptimizer([param, other], cfg);
      GRADS.forEach((g, k) => {
        opt.step([floats(g), floats([0, 0])]);
        expectClose(param, ref[k]);
      });
      expect(opt.steps).toBe(3);
    });
  }

  it('adam and adamw differ when weight decay is set (the references are not interchangeable)', () => {
    expect(referenceAdam(true, 0.05, 0.9, 0.999, 1e-8, 0.2)[2]).not.toEqual(referenceAdam(false, 0.05, 0.9, 0.999, 1e-8, 0.2)[2]);
  });

  it('setLearningRate takes effect on the next step', () => {
    const p = floats([1]);
    const opt = new DenseOptimizer([p], { type: 'sgd', lr: 1 });
    opt.setLearningRate(0.5);
    opt.step([floats([2])]);
    expect(p[0]).toBe(0);
    expect(opt.learningRate).toBe(0.5);
  });

  it('rejects mismatched gradients and bad configs', () => {
    const opt = new DenseOptimizer([floats([1, 2])], { type: 'adam', lr: 0.1 });
    expect(() => opt.step([floats([1])])).toThrow(/values/);
    expect(() => opt.step([])).toThrow(/gradients/);
    expect(() => new DenseOptimizer([], { type: 'adam', lr: -1 })).toThrow(/lr/);
    expect(() => new DenseOptimizer([], { type: 'sgd', lr: 0.1, momentum: 1 })).toThrow(/momentum/);
  });
});

describe('state / restore', () => {
  for (const cfg of [{ type: 'adam', lr: 0.01 } as const, { type: 'sgd', lr: 0.1, momentum: 0.9 } as const]) {
    it(`${cfg.type}: restoring into a fresh optimizer continues identically`, () => {
      const a = floats(P0);
      const optA = new DenseOptimizer([a], cfg);
      optA.step([floats(GRADS[0])]);
      const saved = optA.state();
      const b = a.slice();
      const optB = new DenseOptimizer([b], cfg);
      optB.restore(saved);
      optA.step([floats(GRADS[1])]);
      optB.step([floats(GRADS[1])]);
      expect(b).toEqual(a);
      // state() is a copy: stepping did not change what was saved
      expect(saved.step).toBe(1);
      // ...and without the restore the result differs
      const c = floats(P0);
      const optC = new DenseOptimizer([c], cfg);
      optC.step([floats(GRADS[0])]);
      const d = c.slice();
      const optD = new DenseOptimizer([d], cfg);
      optD.step([floats(GRADS[1])]);
      expect(d).not.toEqual(a);
    });
  }

  it('refuses state of another shape', () => {
    const opt = new DenseOptimizer([floats([1, 2])], { type: 'adam', lr: 0.1 });
    expect(() => opt.restore({ step: 1, buffers: [floats([1, 2])] })).toThrow(/match/);
  });
});

describe('clipGradNorm', () => {
  it('returns the global norm and scales every gradient to maxNorm when above it', () => {
    const g1 = floats([3, 0]);
    const g2 = floats([0, 4]);
    const norm = clipGradNorm([g1, g2], 1);
    expect(norm).toBeCloseTo(5, 6);
    expectClose([...g1, ...g2], [0.6, 0, 0, 0.8], 1e-5);
  });

  it('leaves gradients below maxNorm untouched', () => {
    const g = floats([0.3, 0.4]);
    expect(clipGradNorm([g], 1)).toBeCloseTo(0.5, 6);
    expect(Array.from(g)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });

  it('is applied before the step when clipNorm is configured', () => {
    const p = floats([0, 0]);
    const opt = new DenseOptimizer([p], { type: 'sgd', lr: 1, clipNorm: 1 });
    opt.step([floats([30, 40])]);
    expectClose(p, [-0.6, -0.8], 1e-5);
  });
});
