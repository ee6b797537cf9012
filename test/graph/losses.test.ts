import { describe, expect, it } from 'vitest';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph, type Value } from '../../src/graph/graph.js';
import { bceFromLogProbs, bceWithLogits, log1mProduct, logProduct } from '../../src/graph/losses.js';
import { encodeModel } from '../../src/graph/onnx.js';
import { GraphSession } from '../../src/runtime/session.js';
import { gradCheck } from './gradcheck.js';

// Logit pairs covering the saturated corners the loss must survive.
const A = [40, 40, -40, -40, 0, 3, -3, 40, 12];
const B = [40, -40, 40, -40, 0, -2, 5, 0, 12];
const Y = [0, 1, 1, 0, 1, 0, 1, 0, 1];

const sig = (x: number): number => 1 / (1 + Math.exp(-x));
/** log(sigmoid(x)) in double without rounding trouble. */
const logSig = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));
/** log(1 - sigmoid(a) sigmoid(b)) from the exact identity, evaluated in double. */
const log1mProd = (a: number, b: number): number =>
  Math.log(Math.exp(-a) + Math.exp(-b) + Math.exp(-a - b)) - Math.log1p(Math.exp(-a)) - Math.log1p(Math.exp(-b));

/** The CTCVR loss of ESMM: BCE of sigmoid(a) sigmoid(b) against y, mean over the batch. */
function ctcvrLoss(g: Graph, a: Value, b: Value, y: Value): Value {
  return bceFromLogProbs(g, logProduct(g, a, b), log1mProduct(g, a, b), y);
}

async function runFloat32(build: (g: Graph, a: Value, b: Value, y: Value) => Value): Promise<Record<string, Float32Array>> {
  const g = new Graph('bce');
  const a = g.input('a', ['batch']);
  const b = g.input('b', ['batch']);
  const y = g.input('y', ['batch']);
  const loss = build(g, a, b, y);
  const [da, db] = gradients(g, loss, [a, b]);
  g.output('loss', loss);
  g.output('da', da!);
  g.output('db', db!);
  const s = await GraphSession.create(encodeModel(g, { paramsAs: 'inputs' }), { intraOpThreads: 1 });
  try {
    return await s.run({ a: Float32Array.from(A), b: Float32Array.from(B), y: Float32Array.from(Y) });
  } finally {
    await s.release();
  }
}

describe('BCE on a product of probabilities, float32 in ORT', () => {
  it('is finite and exact at logits of +-40 (loss and gradients)', async () => {
    const out = await runFloat32(ctcvrLoss);
    const n = A.length;
    let expected = 0;
    for (let i = 0; i < n; i++) {
      const lp = logSig(A[i]!) + logSig(B[i]!);
      expected -= (Y[i]! * lp + (1 - Y[i]!) * log1mProd(A[i]!, B[i]!)) / n;
    }
    expect(Number.isFinite(out.loss![0]!)).toBe(true);
    expect(out.loss![0]).toBeCloseTo(expected, 4);
    for (let i = 0; i < n; i++) {
      const [a, b, y] = [A[i]!, B[i]!, Y[i]!];
      // d/da log p = 1 - s(a) = s(-a); d/da log(1-p) = -s(-a) p / (1-p), p/(1-p) from the stable logs.
      const odds = Math.exp(logSig(a) + logSig(b) - log1mProd(a, b));
      const refDa = -(y * sig(-a) - (1 - y) * sig(-a) * odds) / n;
      const refDb = -(y * sig(-b) - (1 - y) * sig(-b) * odds) / n;
      expect(Number.isFinite(out.da![i]!)).toBe(true);
      expect(Number.isFinite(out.db![i]!)).toBe(true);
      expect(Math.abs(out.da![i]! - refDa)).toBeLessThan(1e-6 + 1e-4 * Math.abs(refDa));
      expect(Math.abs(out.db![i]! - refDb)).toBeLessThan(1e-6 + 1e-4 * Math.abs(refDb));
    }
  });

  it('the naive log of the rounded product is not finite there (why the stable form exists)', async () => {
    const out = await runFloat32((g, a, b, y) => {
      const p = g.mul(g.sigmoid(a), g.sigmoid(b));
      return bceFromLogProbs(g, g.log(p), g.log(g.sub(g.constant(1), p)), y);
    });
    expect(Number.isFinite(out.loss![0]!)).toBe(false);
  });

  it('bceWithLogits matches the double-precision reference at +-40', async () => {
    const out = await runFloat32((g, a, _b, y) => bceWithLogits(g, a, y));
    let expected = 0;
    for (let i = 0; i < A.length; i++) expected -= (Y[i]! * logSig(A[i]!) + (1 - Y[i]!) * logSig(-A[i]!)) / A.length;
    expect(out.loss![0]).toBeCloseTo(expected, 4);
    for (let i = 0; i < A.length; i++) expect(out.da![i]).toBeCloseTo((sig(A[i]!) - Y[i]!) / A.length, 6);
    expect(Array.from(out.db!)).toEqual(new Array(A.length).fill(0));
  });
});

describe('loss helpers: gradients match finite differences in float64', () => {
  it('log1mProduct, including saturated logits', async () => {
    await gradCheck((g) => {
      const a = g.input('a', [9]);
      const b = g.input('b', [9]);
      return { out: log1mProduct(g, a, b), wrt: [a, b], values: { a: Float64Array.from(A), b: Float64Array.from(B) } };
    });
  });

  it('the ESMM CTR + CTCVR loss with a symbolic batch', async () => {
    await gradCheck(
      (g) => {
        const a = g.input('a', ['batch', 1]);
        const b = g.input('b', ['batch', 1]);
        const click = g.input('click', ['batch', 1]);
        const buy = g.input('buy', ['batch', 1]);
        const loss = g.add(bceWithLogits(g, a, click), ctcvrLoss(g, a, b, buy));
        return {
          out: loss,
          wrt: [a, b],
          feeds: {
            click: { data: Float64Array.from([1, 1, 0, 1, 0]), dims: [5, 1] },
            buy: { data: Float64Array.from([1, 0, 0, 1, 0]), dims: [5, 1] },
          },
          values: { a: Float64Array.from([40, -40, 0.5, 2, -1]), b: Float64Array.from([40, 3, -0.5, -40, 40]) },
        };
      },
      { symbols: { batch: 5 } },
    );
  });

  it('weighted BCE: gradient matches finite differences', async () => {
    await gradCheck((g) => {
      const lp = g.input('lp', [2]);
      const l1 = g.input('l1', [2]);
      const w = g.input('w', [2]);
      return {
        out: bceFromLogProbs(g, lp, l1, g.constant([1, 0]), w),
        wrt: [lp, l1, w],
        values: { lp: Float64Array.from([-0.1, -2]), l1: Float64Array.from([-3, -0.3]) },
      };
    });
  });
});

describe('bceFromLogProbs value', () => {
  it('weights each term and divides by the element count', async () => {
    const g = new Graph('w');
    const loss = bceFromLogProbs(g, g.constant([-0.1, -2]), g.constant([-3, -0.3]), g.constant([1, 0]), g.constant([2, 0.5]));
    expect(loss.shape).toEqual([]);
    g.output('loss', loss);
    const s = await GraphSession.create(encodeModel(g, { paramsAs: 'inputs' }), { intraOpThreads: 1 });
    const out = await s.run({});
    await s.release();
    // -(2 * (1 * -0.1) + 0.5 * (1 - 0) * -0.3) / 2
    expect(out.loss![0]).toBeCloseTo(0.175, 6);
  });
});
