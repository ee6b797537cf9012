/**
 * Encodes a Graph as ONNX ModelProto bytes (opset 17, IR version 8) with onnx-proto. The same
 * Graph gives the training model (params as inputs, gradients as outputs) and the serving model
 * (params baked in as initializers, only forward outputs): nodes and inputs that no requested
 * output needs are pruned.
 */
import onnxpkg from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';
import { ONNX_TYPE, type ConstTensor, type DType, type Graph, type Node, type Value } from './graph.js';

const { onnx } = onnxpkg;

export const OPSET_VERSION = 17;
export const IR_VERSION = 8;

export interface EncodeOptions {
  paramsAs: 'inputs' | 'initializers';
  /** Current parameter values when paramsAs is 'initializers' (default: each param's init). */
  paramValues?: Map<string, Float32Array>;
  /** Subset of the declared outputs to keep; default all. */
  outputs?: string[];
  /** Extra tensors; one named like a graph input replaces that input. */
  extraInitializers?: { name: string; data: Float32Array | BigInt64Array | Int32Array; dims: number[] }[];
  metadata?: Record<string, string>;
}

export function encodeModel(g: Graph, opts: EncodeOptions): Uint8Array {
  const outputs = selectOutputs(g, opts.outputs);
  const nodes = liveNodes(g, outputs.map((o) => o.value));
  const used = new Map<number, Value>();
  for (const n of nodes) n.inputs.forEach((v) => used.set(v.id, v));
  for (const o of outputs) used.set(o.value.id, o.value);

  const extras = new Map((opts.extraInitializers ?? []).map((e) => [e.name, e]));
  const graphInputs: proto.IValueInfoProto[] = [];
  const initializers: proto.ITensorProto[] = [];
  for (const v of used.values()) {
    const kind = g.kindOf(v);
    const extra = extras.get(v.name);
    if (kind === 'const') initializers.push(constTensor(v.name, g.constantOf(v)!, g.floatType));
    else if (extra) continue; // added below
    else if (kind === 'input' || (kind === 'param' && opts.paramsAs === 'inputs')) graphInputs.push(valueInfo(v.name, v));
    else if (kind === 'param') {
      const data = opts.paramValues?.get(v.name) ?? g.initOf(v)!;
      if (data.length !== g.initOf(v)!.length) {
        throw new Error(`encodeModel: value for param '${v.name}' has ${data.length} numbers, expected ${g.initOf(v)!.length}`);
      }
      initializers.push(floatTensor(v.name, data, v.shape as number[], g.floatType));
    }
  }
  for (const e of extras.values()) initializers.push(extraTensor(e, g.floatType, used, g));

  const doubleSoftplus = g.floatType === 'float64' && nodes.some((n) => n.op === 'Softplus');
  const nodeProtos = nodes.map((n, i) => {
    const p = nodeProto(n, i);
    return doubleSoftplus && n.op === 'Softplus' ? { ...p, domain: SOFTPLUS64_DOMAIN } : p;
  });
  const outputInfos = outputs.map(({ name, value }) => {
    if (name !== value.name) nodeProtos.push({ opType: 'Identity', input: [value.name], output: [name], name: `output_${name}` });
    return valueInfo(name, value);
  });

  const model: proto.IModelProto = {
    irVersion: IR_VERSION,
    producerName: 'esmm',
    opsetImport: [{ domain: '', version: OPSET_VERSION }, ...(doubleSoftplus ? [{ domain: SOFTPLUS64_DOMAIN, version: 1 }] : [])],
    graph: { name: g.name, node: nodeProtos, input: graphInputs, output: outputInfos, initializer: initializers },
    functions: doubleSoftplus ? [softplus64Function()] : [],
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(model).finish();
}

function selectOutputs(g: Graph, names: string[] | undefined): { name: string; value: Value }[] {
  const declared = g.outputs();
  if (!names) {
    if (declared.length === 0) throw new Error(`encodeModel: graph '${g.name}' declares no outputs`);
    return declared;
  }
  return names.map((name) => {
    const hit = declared.find((o) => o.name === name);
    if (!hit) throw new Error(`encodeModel: '${name}' is not a declared output (have ${declared.map((o) => o.name).join(', ')})`);
    return hit;
  });
}

/** Nodes needed to compute `targets`, in the graph's (topological) order. */
function liveNodes(g: Graph, targets: Value[]): Node[] {
  const needed = new Set(targets.map((v) => v.id));
  const all = g.nodes();
  const live: Node[] = [];
  for (let i = all.length - 1; i >= 0; i--) {
    const n = all[i]!;
    if (!n.outputs.some((o) => needed.has(o.id))) continue;
    live.push(n);
    n.inputs.forEach((v) => needed.add(v.id));
  }
  return live.reverse();
}

function nodeProto(n: Node, index: number): proto.INodeProto {
  const attribute: proto.IAttributeProto[] = Object.entries(n.attrs).map(([name, a]) => {
    const T = onnx.AttributeProto.AttributeType;
    switch (a.kind) {
      case 'int':
        return { name, type: T.INT, i: a.value };
      case 'float':
        return { name, type: T.FLOAT, f: a.value };
      case 'ints':
        return { name, type: T.INTS, ints: a.value };
      case 'tensor':
        return { name, type: T.TENSOR, t: constTensor('', a.value, a.value.dtype === 'float64' ? 'float64' : 'float32') };
    }
  });
  return { opType: n.op, name: `${n.op}_${index}`, input: n.inputs.map((v) => v.name), output: n.outputs.map((v) => v.name), attribute };
}

function valueInfo(name: string, v: Value): proto.IValueInfoProto {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: ONNX_TYPE[v.dtype], shape: { dim } } } };
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  // ONNX raw_data is little-endian, as are the typed arrays on every platform Node supports.
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

/** Float data in the graph's float dtype. */
function floatTensor(name: string, data: ArrayLike<number>, dims: number[], floatType: 'float32' | 'float64'): proto.ITensorProto {
  const typed = floatType === 'float64' ? Float64Array.from(data) : Float32Array.from(data);
  return { name, dims, dataType: ONNX_TYPE[floatType], rawData: bytesOf(typed) };
}

function constTensor(name: string, c: ConstTensor, floatType: 'float32' | 'float64'): proto.ITensorProto {
  const dtype: DType = c.dtype === 'float32' || c.dtype === 'float64' ? floatType : c.dtype;
  if (dtype === 'float32' || dtype === 'float64') return floatTensor(name, c.data as Float64Array, c.dims, dtype);
  return { name, dims: c.dims, dataType: ONNX_TYPE[dtype], rawData: bytesOf(c.data) };
}

function extraTensor(
  e: NonNullable<EncodeOptions['extraInitializers']>[number],
  floatType: 'float32' | 'float64',
  used: Map<number, Value>,
  g: Graph,
): proto.ITensorProto {
  const replaces = [...used.values()].find((v) => v.name === e.name && g.kindOf(v) !== 'const');
  if (e.data instanceof Float32Array) {
    // An extra float tensor standing in for a float input takes the graph's float dtype.
    return floatTensor(e.name, e.data, e.dims, replaces ? floatType : 'float32');
  }
  const dataType = e.data instanceof BigInt64Array ? ONNX_TYPE.int64 : 6; // 6 = INT32
  return { name: e.name, dims: e.dims, dataType, rawData: bytesOf(e.data) };
}

/**
 * onnxruntime's CPU Softplus has no double kernel. Float64 graphs (used by tests to check
 * gradients in double) call this model-local function instead: relu(x) + log(1 + exp(-|x|)),
 * the same stable formula, built from ops that have double kernels. Float32 graphs use ONNX
 * Softplus itself.
 */
const SOFTPLUS64_DOMAIN = 'esmm.float64';

function softplus64Function(): proto.IFunctionProto {
  const one: ConstTensor = { dtype: 'float64', dims: [], data: Float64Array.of(1) };
  const T = onnx.AttributeProto.AttributeType;
  const n = (opType: string, input: string[], output: string): proto.INodeProto => ({ opType, input, output: [output] });
  return {
    name: 'Softplus',
    domain: SOFTPLUS64_DOMAIN,
    input: ['X'],
    output: ['Y'],
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    node: [
      { opType: 'Constant', input: [], output: ['one'], attribute: [{ name: 'value', type: T.TENSOR, t: constTensor('', one, 'float64') }] },
      n('Abs', ['X'], 'a'),
      n('Neg', ['a'], 'na'),
      n('Exp', ['na'], 'e'),
      n('Add', ['e', 'one'], 's'),
      n('Log', ['s'], 'l'),
      n('Relu', ['X'], 'r'),
      n('Add', ['r', 'l'], 'Y'),
    ],
  };
}
