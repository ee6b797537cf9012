/**
 * Gradient checking for tests: builds a graph in float64, differentiates a random projection of
 * its output (loss = sum(out * R)), runs the gradient graph in onnxruntime in double, and
 * compares every gradient element with a central finite difference of the same loss.
 */
import { expect } from 'vitest';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph, type Dim, type Value } from '../../src/graph/graph.js';
import { encodeModel } from '../../src/graph/onnx.js';
import { GraphSession, type Feeds } from '../../src/runtime/session.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, rand: () => number, lo = -2, hi = 2): Float64Array {
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * rand());
}

export interface GradCase {
  /** The value to differentiate (any shape). */
  out: Value;
  /** Inputs or params to differentiate with respect to. */
  wrt: Value[];
  /** Fixed feeds for other inputs (labels, masks), already shaped. */
  feeds?: Feeds;
  /** Values for wrt inputs (default: uniform in [-2, 2]). */
  values?: Record<string, Float64Array>;
}

export interface GradCheckOptions {
  seed?: number;
  /** Values of symbolic dims. */
  symbols?: Record<string, number>;
  step?: number;
  atol?: number;
  rtol?: number;
}

export interface GradCheckResult {
  loss: number;
  grads: Float64Array[];
}

function resolve(shape: readonly Dim[], symbols: Record<string, number>): number[] {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    const v = symbols[d];
    if (v === undefined) throw new Error(`gradCheck: no value for symbol '${d}'`);
    return v;
  });
}

export async function gradCheck(build: (g: Graph) => GradCase, opts: GradCheckOptions = {}): Promise<GradCheckResult> {
  const rand = rng(opts.seed ?? 1);
  const symbols = opts.symbols ?? {};
  const g = new Graph('gradcheck', { dtype: 'float64' });
  const c = build(g);
  const r = g.input('R', c.out.shape);
  const prod = g.mul(c.out, r);
  const loss = prod.shape.length > 0 ? g.reduceSum(prod, prod.shape.map((_, i) => i)) : prod;
  const grads = gradients(g, loss, c.wrt);
  g.output('loss', loss);
  grads.forEach((d, i) => g.output(`grad_${i}`, d));
  const session = await GraphSession.create(encodeModel(g, { paramsAs: 'inputs' }), { intraOpThreads: 1 });
  try {
    const rDims = resolve(c.out.shape, symbols);
    const feeds: Feeds = { ...c.feeds, R: { data: randomArray(rDims.reduce((p, d) => p * d, 1), rand), dims: rDims } };
    const wrtData = c.wrt.map((v) => {
      const dims = resolve(v.shape, symbols);
      const size = dims.reduce((p, d) => p * d, 1);
      const data = Float64Array.from(c.values?.[v.name] ?? randomArray(size, rand));
      feeds[v.name] = { data, dims };
      return data;
    });
    for (const p of g.params()) {
      if (!(p.value.name in feeds)) feeds[p.value.name] = { data: Float64Array.from(p.init), dims: p.value.shape as number[] };
    }
    const analytic = await session.runTensors(feeds);
    const lossAt = async (): Promise<number> => (await session.runTensors(feeds, ['loss'])).loss!.data[0] as number;
    const h = opts.step ?? 1e-6;
    const atol = opts.atol ?? 1e-6;
    const rtol = opts.rtol ?? 1e-5;
    const result: Float64Array[] = [];
    for (let i = 0; i < c.wrt.length; i++) {
      const data = wrtData[i]!;
      const got = analytic[`grad_${i}`]!.data as Float64Array;
      expect(got.length, `gradient of '${c.wrt[i]!.name}' has the wrong size`).toBe(data.length);
      for (let j = 0; j < data.length; j++) {
        const x = data[j]!;
        data[j] = x + h;
        const up = await lossAt();
        data[j] = x - h;
        const down = await lossAt();
        data[j] = x;
        const fd = (up - down) / (2 * h);
        const err = Math.abs(fd - got[j]!);
        if (!(err <= atol + rtol * Math.abs(fd))) {
          throw new Error(`d loss / d ${c.wrt[i]!.name}[${j}]: analytic ${got[j]} vs finite difference ${fd}`);
        }
      }
      result.push(got);
    }
    return { loss: analytic.loss!.data[0] as number, grads: result };
  } finally {
    await session.release();
  }
}
