import onnxpkg from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph } from '../../src/graph/graph.js';
import { bceWithLogits } from '../../src/graph/losses.js';
import { encodeModel } from '../../src/graph/onnx.js';
import { GraphSession } from '../../src/runtime/session.js';
import { randomArray, rng } from './gradcheck.js';

const { onnx } = onnxpkg;

/** Decoded nested messages are class instances (all repeated fields present), not the I* shapes. */
function decodedGraph(m: InstanceType<typeof onnx.ModelProto>): InstanceType<typeof onnx.GraphProto> {
  return m.graph as InstanceType<typeof onnx.GraphProto>;
}
type DecodedNode = InstanceType<typeof onnx.NodeProto>;

/** A small CTR tower: emb[batch, 6] -> 5 relu -> 1 logit; loss BCE; gradients for all. */
function buildTower() {
  const rand = rng(11);
  const init = (n: number): Float32Array => Float32Array.from(randomArray(n, rand, -0.6, 0.6));
  const g = new Graph('tower');
  const emb = g.input('emb', ['batch', 6]);
  const click = g.input('click', ['batch', 1]);
  const w1 = g.param('w1', [6, 5], init(30));
  const b1 = g.param('b1', [5], init(5));
  const w2 = g.param('w2', [5, 1], init(5));
  const b2 = g.param('b2', [1], init(1));
  const logit = g.linear(g.relu(g.linear(emb, w1, b1)), w2, b2);
  const loss = bceWithLogits(g, logit, click);
  g.output('pctr', g.sigmoid(logit));
  g.output('loss', loss);
  const params = [w1, b1, w2, b2];
  const grads = gradients(g, loss, [emb, ...params]);
  g.output('grad_emb', grads[0]!);
  params.forEach((p, i) => g.output(`grad_${p.name}`, grads[i + 1]!));
  return { g, params };
}

const batch = 4;
const embData = Float32Array.from(randomArray(batch * 6, rng(12)));
const clickData = Float32Array.from([1, 0, 0, 1]);

describe('encodeModel', () => {
  it('writes opset 17 / IR 8 with metadata, and opset-17 operand conventions', () => {
    const { g } = buildTower();
    const bytes = encodeModel(g, { paramsAs: 'inputs', metadata: { family: 'esmm', version: '1' } });
    const m = onnx.ModelProto.decode(bytes);
    expect(Number(m.irVersion)).toBe(8);
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    expect(m.metadataProps.map((p) => [p.key, p.value])).toEqual([
      ['family', 'esmm'],
      ['version', '1'],
    ]);
    const graph = decodedGraph(m);
    const nodes = graph.node as DecodedNode[];
    // ReduceSum takes axes as an input; ReduceMean keeps its attribute.
    for (const n of nodes.filter((n) => n.opType === 'ReduceSum')) expect(n.input.length).toBe(2);
    const means = nodes.filter((n) => n.opType === 'ReduceMean');
    expect(means.length).toBeGreaterThan(0);
    for (const n of means) expect(n.attribute.map((a) => a.name)).toContain('axes');
    // The batch dim is symbolic in the declared input.
    const embInfo = graph.input.find((i) => i.name === 'emb')!;
    expect(embInfo.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 6]);
    // Hot-path gradients of the dense layers use Gemm flags, not Transpose nodes.
    expect(nodes.some((n) => n.opType === 'Transpose')).toBe(false);
    expect(nodes.filter((n) => n.opType === 'Gemm').some((n) => n.attribute.some((a) => a.name === 'transA'))).toBe(true);
  });

  it('an inference export (params baked in, forward outputs only) predicts what the training graph does', async () => {
    const { g, params } = buildTower();
    const train = await GraphSession.create(encodeModel(g, { paramsAs: 'inputs' }), { intraOpThreads: 1 });
    const serve = await GraphSession.create(encodeModel(g, { paramsAs: 'initializers', outputs: ['pctr'] }), { intraOpThreads: 1 });
    try {
      expect([...train.inputNames].sort()).toEqual(['b1', 'b2', 'click', 'emb', 'w1', 'w2']);
      // Labels and params are pruned from the serving model's inputs; gradients from its outputs.
      expect(serve.inputNames).toEqual(['emb']);
      expect(serve.outputNames).toEqual(['pctr']);
      const paramFeeds = Object.fromEntries(params.map((p) => [p.name, g.params().find((q) => q.value === p)!.init]));
      const t = await train.run({ emb: embData, click: clickData, ...paramFeeds });
      const s = await serve.run({ emb: embData });
      expect(s.pctr!.length).toBe(batch);
      expect(Array.from(s.pctr!)).toEqual(Array.from(t.pctr!));
      expect(Object.keys(t).sort()).toEqual(['grad_b1', 'grad_b2', 'grad_emb', 'grad_w1', 'grad_w2', 'loss', 'pctr']);
      expect(t.grad_emb!.length).toBe(batch * 6);
      expect(t.grad_w1!.length).toBe(30);
    } finally {
      await train.release();
      await serve.release();
    }
  });

  it('bakes in current parameter values given by paramValues', async () => {
    const { g } = buildTower();
    const zeros = new Map([
      ['w2', new Float32Array(5)],
      ['b2', Float32Array.of(2)],
    ]);
    const serve = await GraphSession.create(encodeModel(g, { paramsAs: 'initializers', outputs: ['pctr'], paramValues: zeros }), {
      intraOpThreads: 1,
    });
    const s = await serve.run({ emb: embData });
    await serve.release();
    for (const p of s.pctr!) expect(p).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
  });

  it('an extra initializer replaces the input of the same name', async () => {
    const g = new Graph('extra');
    const x = g.input('x', [2]);
    const scale = g.input('scale', [2]);
    g.output('y', g.mul(x, scale));
    const bytes = encodeModel(g, { paramsAs: 'inputs', extraInitializers: [{ name: 'scale', data: Float32Array.of(10, 100), dims: [2] }] });
    const withIds = encodeModel(g, { paramsAs: 'inputs', extraInitializers: [{ name: 'ids', data: BigInt64Array.of(1n, 2n), dims: [2] }] });
    const ids = decodedGraph(onnx.ModelProto.decode(withIds)).initializer.find((t) => t.name === 'ids')!;
    expect(ids.dataType).toBe(onnx.TensorProto.DataType.INT64);
    expect(Array.from(new BigInt64Array(Uint8Array.from(ids.rawData!).buffer))).toEqual([1n, 2n]);
    const s = await GraphSession.create(bytes, { intraOpThreads: 1 });
    expect(s.inputNames).toEqual(['x']);
    const out = await s.run({ x: Float32Array.of(1, 2) });
    await s.release();
    expect(Array.from(out.y!)).toEqual([10, 200]);
  });

  it('rejects an unknown output and a wrongly sized parameter value', () => {
    const { g } = buildTower();
    expect(() => encodeModel(g, { paramsAs: 'inputs', outputs: ['pcvr'] })).toThrow(/'pcvr' is not a declared output/);
    expect(() =>
      encodeModel(g, { paramsAs: 'initializers', outputs: ['pctr'], paramValues: new Map([['w1', new Float32Array(3)]]) }),
    ).toThrow(/w1/);
  });

  it('an output may expose an input or the same value under two names', async () => {
    const g = new Graph('alias');
    const x = g.input('x', [3]);
    const y = g.exp(x);
    g.output('x_again', x);
    g.output('e1', y);
    g.output('e2', y);
    const s = await GraphSession.create(encodeModel(g, { paramsAs: 'inputs' }), { intraOpThreads: 1 });
    const out = await s.run({ x: Float32Array.of(0, 1, 2) });
    await s.release();
    expect(Array.from(out.x_again!)).toEqual([0, 1, 2]);
    expect(Array.from(out.e1!)).toEqual(Array.from(out.e2!));
    expect(out.e1![1]).toBeCloseTo(Math.E, 5);
  });

  it('float64 graphs run Softplus through a double-precision local function', async () => {
    const g = new Graph('sp64', { dtype: 'float64' });
    const x = g.input('x', [4]);
    g.output('y', g.softplus(x));
    const m = onnx.ModelProto.decode(encodeModel(g, { paramsAs: 'inputs' }));
    expect(m.functions.map((f) => f.name)).toEqual(['Softplus']);
    const s = await GraphSession.create(encodeModel(g, { paramsAs: 'inputs' }), { intraOpThreads: 1 });
    const out = await s.runTensors({ x: { data: Float64Array.of(-800, -1, 0, 800), dims: [4] } });
    await s.release();
    const y = out.y!.data as Float64Array;
    expect(y).toBeInstanceOf(Float64Array);
    expect(y[0]).toBe(0);
    expect(y[1]).toBeCloseTo(Math.log1p(Math.exp(-1)), 14);
    expect(y[2]).toBeCloseTo(Math.LN2, 14);
    expect(y[3]).toBe(800);
  });
});
