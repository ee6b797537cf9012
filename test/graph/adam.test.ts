import { describe, expect, it } from 'vitest';
import { adamNames, adamScalars, addAdamUpdates, ADAM_INV_SQRT_BIAS2, ADAM_STEP_SIZE } from '../../src/graph/adam-nodes.js';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph } from '../../src/graph/graph.js';
import { encodeModel } from '../../src/graph/onnx.js';
import { GraphSession } from '../../src/runtime/session.js';

/** PyTorch's Adam in double, for reference. */
function referenceAdam(p: Float64Array, grad: (p: Float64Array) => Float64Array, steps: number, lr: number): Float64Array {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  const x = Float64Array.from(p);
  for (let t = 1; t <= steps; t++) {
    const gr = grad(x);
    for (let i = 0; i < x.length; i++) {
      m[i] = b1 * m[i]! + (1 - b1) * gr[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * gr[i]! * gr[i]!;
      const mHat = m[i]! / (1 - b1 ** t);
      const vHat = v[i]! / (1 - b2 ** t);
      x[i] = x[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  }
  return x;
}

describe('in-graph Adam', () => {
  it('matches PyTorch-style Adam over several steps, with alternating output buffers', async () => {
    // loss = sum((w - target)^2 * scale): gradient 2 (w - target) scale.
    const target = Float64Array.of(1, -2, 0.5, 3);
    const scale = Float64Array.of(1, 10, 0.1, 2);
    const w0 = Float32Array.of(0, 0, 0, 0);
    const g = new Graph('adam');
    const w = g.param('w', [4], w0);
    const diff = g.sub(w, g.constant(Float32Array.from(target)));
    const loss = g.reduceSum(g.mul(g.mul(diff, diff), g.constant(Float32Array.from(scale))), [0]);
    const [dw] = gradients(g, loss, [w]);
    addAdamUpdates(g, [w], [dw!]);
    const names = adamNames('w');
    const s = await GraphSession.create(encodeModel(g, { paramsAs: 'inputs' }), { intraOpThreads: 1 });

    // Two sets of buffers: read from one, write into the other, swap.
    let cur = { w: Float32Array.from(w0), m: new Float32Array(4), v: new Float32Array(4) };
    let nxt = { w: new Float32Array(4), m: new Float32Array(4), v: new Float32Array(4) };
    const lr = 0.05;
    const steps = 5;
    for (let t = 1; t <= steps; t++) {
      const sc = adamScalars(t, lr);
      await s.runInto(
        {
          w: cur.w,
          [names.m]: cur.m,
          [names.v]: cur.v,
          [ADAM_STEP_SIZE]: Float32Array.of(sc.stepSize),
          [ADAM_INV_SQRT_BIAS2]: Float32Array.of(sc.invSqrtBias2),
        },
        { [names.paramOut]: nxt.w, [names.mOut]: nxt.m, [names.vOut]: nxt.v },
      );
      [cur, nxt] = [nxt, cur];
    }
    await s.release();
    const expected = referenceAdam(Float64Array.from(w0), (x) => x.map((xi, i) => 2 * (xi - target[i]!) * scale[i]!), steps, lr);
    for (let i = 0; i < 4; i++) expect(cur.w[i]).toBeCloseTo(expected[i]!, 5);
    // Adam moves every coordinate by about lr per step at first, whatever the gradient scale.
    expect(Math.abs(cur.w[0]! - w0[0]!)).toBeGreaterThan(0.2);
  });

  it('adamScalars validates the step', () => {
    expect(() => adamScalars(0, 0.1)).toThrow(/step/);
    expect(adamScalars(1, 0.1).stepSize).toBeCloseTo(1, 12);
  });
});
