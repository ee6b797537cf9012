import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../src/graph/graph.js';
import { encodeModel } from '../../src/graph/onnx.js';
import { GraphSession } from '../../src/runtime/session.js';

/** y = x W + b, z = sum(y) per row; W [3, 2]. */
function linearModel(): Uint8Array {
  const g = new Graph('lin');
  const x = g.input('x', ['batch', 3]);
  const w = g.input('w', [3, 2]);
  const b = g.param('b', [2], Float32Array.of(0.5, -0.5));
  const y = g.linear(x, w, b);
  g.output('y', y);
  g.output('z', g.reduceSum(y, [1]));
  return encodeModel(g, { paramsAs: 'initializers' });
}

const W = Float32Array.of(1, 0, 0, 1, 1, 1);

describe('GraphSession', () => {
  let s: GraphSession;
  beforeAll(async () => {
    s = await GraphSession.create(linearModel(), { intraOpThreads: 1 });
  });
  afterAll(async () => {
    await s.release();
  });

  it('reports input and output names', () => {
    expect(s.inputNames).toEqual(['x', 'w']);
    expect(s.outputNames).toEqual(['y', 'z']);
  });

  it('solves the symbolic batch dim from a flat Float32Array', async () => {
    const out = await s.run({ x: Float32Array.of(1, 2, 3, 4, 5, 6), w: W });
    expect(Array.from(out.y!)).toEqual([4.5, 4.5, 10.5, 10.5]);
    expect(Array.from(out.z!)).toEqual([9, 21]);
  });

  it('fetches a subset of outputs', async () => {
    const out = await s.run({ x: Float32Array.of(1, 1, 1), w: W }, ['z']);
    expect(Object.keys(out)).toEqual(['z']);
    expect(Array.from(out.z!)).toEqual([4]);
  });

  it('accepts explicit dims and checks them against the graph', async () => {
    const out = await s.runTensors({ x: { data: Float32Array.of(0, 0, 0), dims: [1, 3] }, w: { data: W, dims: [3, 2] } });
    expect(out.y!.dims).toEqual([1, 2]);
    await expect(s.run({ x: { data: Float32Array.of(0, 0, 0), dims: [3, 1] }, w: W })).rejects.toThrow(/graph declares/);
  });

  it('rejects missing feeds, bad lengths, unknown outputs and shared memory', async () => {
    await expect(s.run({ x: Float32Array.of(1, 2, 3) })).rejects.toThrow(/missing feed 'w'/);
    await expect(s.run({ x: Float32Array.of(1, 2), w: W })).rejects.toThrow(/not a multiple of 3/);
    await expect(s.run({ x: Float32Array.of(1, 2, 3), w: Float32Array.of(1) })).rejects.toThrow(/needs 6/);
    await expect(s.run({ x: Float32Array.of(1, 2, 3), w: W }, ['nope'])).rejects.toThrow(/no output 'nope'/);
    const shared = new Float32Array(new SharedArrayBuffer(12));
    await expect(s.run({ x: shared, w: W })).rejects.toThrow(/SharedArrayBuffer/);
  });

  it('runInto writes into the caller buffers and reuses them between steps', async () => {
    const y = new Float32Array(4);
    const z = new Float32Array(2);
    await s.runInto({ x: Float32Array.of(1, 2, 3, 4, 5, 6), w: W }, { y, z });
    expect(Array.from(y)).toEqual([4.5, 4.5, 10.5, 10.5]);
    expect(Array.from(z)).toEqual([9, 21]);
    // Weights changed in place are seen by the next step; results land in the same buffers.
    const w2 = Float32Array.from(W);
    w2.fill(0);
    await s.runInto({ x: Float32Array.of(1, 2, 3, 4, 5, 6), w: w2 }, { y, z });
    expect(Array.from(y)).toEqual([0.5, -0.5, 0.5, -0.5]);
    expect(Array.from(z)).toEqual([0, 0]);
    // A buffer sized for a different batch is refused.
    await expect(s.runInto({ x: Float32Array.of(1, 2, 3), w: W }, { y })).rejects.toThrow(/output 'y'/);
  });
});

describe('GraphSession input types', () => {
  it('feeds bool masks as Uint8Array and float64 tensors as Float64Array', async () => {
    const g = new Graph('types', { dtype: 'float64' });
    const x = g.input('x', ['n']);
    const keep = g.input('keep', ['n'], 'bool');
    g.output('y', g.where(keep, x, g.constant(-1)));
    g.output('positive', g.greater(x, g.constant(0.15)));
    const s = await GraphSession.create(encodeModel(g, { paramsAs: 'inputs' }));
    const out = await s.runTensors({ x: { data: Float64Array.of(0.1, 0.2, 0.3), dims: [3] }, keep: { data: Uint8Array.of(1, 0, 1), dims: [3] } });
    const asFloat32 = await s.run({ x: { data: Float64Array.of(0.25), dims: [1] }, keep: { data: Uint8Array.of(1), dims: [1] } });
    await s.release();
    expect(Array.from(out.y!.data as Float64Array)).toEqual([0.1, -1, 0.3]);
    expect(asFloat32.y).toBeInstanceOf(Float32Array);
    expect(Array.from(asFloat32.y!)).toEqual([0.25]);
    // A bool output comes back from run() as 0/1 floats.
    expect(Array.from(asFloat32.positive!)).toEqual([1]);
    expect(Array.from(out.positive!.data)).toEqual([0, 1, 1]);
  });

  it('checks that feeds agree on a shared symbolic dim', async () => {
    const g = new Graph('sym');
    const a = g.input('a', ['batch', 2]);
    const b = g.input('b', ['batch', 1]);
    g.output('y', g.mul(a, b));
    const s = await GraphSession.create(encodeModel(g, { paramsAs: 'inputs' }), { intraOpThreads: 1 });
    await expect(s.run({ a: Float32Array.of(1, 2, 3, 4), b: Float32Array.of(1, 2, 3) })).rejects.toThrow(/needs 2/);
    const out = await s.run({ a: Float32Array.of(1, 2, 3, 4), b: Float32Array.of(10, 100) });
    await s.release();
    expect(Array.from(out.y!)).toEqual([10, 20, 300, 400]);
  });
});
