/**
 * A small builder for ONNX graphs (opset 17). Values are typed tensors with build-time shapes;
 * every op checks and infers shapes as it is added, so a model that builds has consistent shapes
 * (symbolic dims such as 'batch' propagate). Nodes are appended in a valid topological order,
 * which autodiff.ts relies on when it walks them backwards. onnx.ts turns a Graph into bytes.
 *
 * Floating dtype: a graph is float32 unless built with `{ dtype: 'float64' }`; float inputs,
 * params and constants all take the graph's float dtype (an input declared 'float32' in a float64
 * graph becomes float64), so tests can run the very same model code in double precision.
 */
import {
  broadcastShapes,
  formatShape,
  normaliseAxes,
  normaliseAxis,
  numericSize,
  reducedShape,
  unsqueezedShape,
  type Dim,
} from './shapes.js';

export type { Dim } from './shapes.js';
export type DType = 'float32' | 'float64' | 'int64' | 'bool';
export type FloatType = 'float32' | 'float64';

export interface Value {
  readonly id: number;
  readonly name: string;
  readonly shape: Dim[];
  readonly dtype: DType;
}

/** A node attribute, tagged with its ONNX attribute type. */
export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'tensor'; value: ConstTensor };

/** Constant tensor data: float constants are kept in double and narrowed on encoding. */
export interface ConstTensor {
  dtype: DType;
  dims: number[];
  data: Float64Array | BigInt64Array | Uint8Array;
}

export interface Node {
  readonly op: string;
  readonly inputs: Value[];
  readonly outputs: Value[];
  readonly attrs: Record<string, Attr>;
}

export type ValueKind = 'input' | 'param' | 'const' | 'node';

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

interface ValueRecord {
  value: Value;
  kind: ValueKind;
  producer?: Node;
  constant?: ConstTensor;
  init?: Float32Array;
}

export class Graph {
  readonly name: string;
  readonly floatType: FloatType;
  private readonly records: ValueRecord[] = [];
  private readonly nodeList: Node[] = [];
  private readonly names = new Set<string>();
  private readonly declaredOutputs: { name: string; value: Value }[] = [];
  private readonly constCache = new Map<string, Value>();

  constructor(name = 'esmm', opts: { dtype?: FloatType } = {}) {
    this.name = name;
    this.floatType = opts.dtype ?? 'float32';
  }

  // ---------------------------------------------------------------- sources and sinks

  input(name: string, shape: Dim[], dtype: DType = 'float32'): Value {
    for (const d of shape) {
      if (typeof d === 'number' && (!Number.isInteger(d) || d < 0)) {
        throw new Error(`input '${name}': bad dim ${d} in ${formatShape(shape)}`);
      }
    }
    return this.addValue(name, [...shape], this.resolveType(dtype), { kind: 'input' });
  }

  param(name: string, shape: number[], init: Float32Array): Value {
    const size = numericSize(shape);
    if (size !== init.length) {
      throw new Error(`param '${name}': init has ${init.length} values, shape ${formatShape(shape)} needs ${size}`);
    }
    return this.addValue(name, [...shape], this.floatType, { kind: 'param', init });
  }

  /** A float constant of the graph's dtype; a number is a scalar (shape []), an array is 1-D. */
  constant(value: number | number[] | Float32Array, shape?: number[]): Value {
    const data = typeof value === 'number' ? Float64Array.of(value) : Float64Array.from(value);
    const dims = shape ?? (typeof value === 'number' ? [] : [data.length]);
    if (numericSize(dims) !== data.length) {
      throw new Error(`constant: ${data.length} values do not fill shape ${formatShape(dims)}`);
    }
    const key = data.length <= 16 ? `f:${dims.join(',')}:${Array.from(data).join(',')}` : undefined;
    return this.cachedConstant(key, { dtype: this.floatType, dims, data });
  }

  /** An int64 1-D constant (axes, sizes, shapes for opset-17 operators that take them as inputs). */
  int64Constant(values: readonly number[]): Value {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    return this.cachedConstant(`i:${values.join(',')}`, { dtype: 'int64', dims: [values.length], data });
  }

  output(name: string, v: Value): void {
    this.check(v);
    if (this.declaredOutputs.some((o) => o.name === name)) throw new Error(`output '${name}' declared twice`);
    if (this.names.has(name) && v.name !== name) throw new Error(`output name '${name}' is already a value name`);
    this.declaredOutputs.push({ name, value: v });
  }

  params(): { value: Value; init: Float32Array }[] {
    return this.records.filter((r) => r.kind === 'param').map((r) => ({ value: r.value, init: r.init! }));
  }

  inputs(): Value[] {
    return this.records.filter((r) => r.kind === 'input').map((r) => r.value);
  }

  outputs(): { name: string; value: Value }[] {
    return [...this.declaredOutputs];
  }

  nodes(): readonly Node[] {
    return this.nodeList;
  }

  kindOf(v: Value): ValueKind {
    return this.check(v).kind;
  }

  producerOf(v: Value): Node | undefined {
    return this.check(v).producer;
  }

  constantOf(v: Value): ConstTensor | undefined {
    return this.check(v).constant;
  }

  initOf(v: Value): Float32Array | undefined {
    return this.check(v).init;
  }

  // ---------------------------------------------------------------- generic node emission

  /** Appends a node; outputs are described by shape and dtype. Ops below are built on this. */
  emit(op: string, inputs: Value[], outputs: { shape: Dim[]; dtype: DType }[], attrs: Record<string, Attr> = {}): Value[] {
    inputs.forEach((v) => this.check(v));
    const outs: Value[] = [];
    const node: Node = { op, inputs, outputs: outs, attrs };
    for (const o of outputs) {
      outs.push(this.addValue(this.freshName(op.toLowerCase()), o.shape, o.dtype, { kind: 'node', producer: node }));
    }
    this.nodeList.push(node);
    return outs;
  }

  private emit1(op: string, inputs: Value[], shape: Dim[], dtype: DType, attrs: Record<string, Attr> = {}): Value {
    return this.emit(op, inputs, [{ shape, dtype }], attrs)[0]!;
  }

  // ---------------------------------------------------------------- elementwise

  add(a: Value, b: Value): Value {
    return this.binary('Add', a, b);
  }
  sub(a: Value, b: Value): Value {
    return this.binary('Sub', a, b);
  }
  mul(a: Value, b: Value): Value {
    return this.binary('Mul', a, b);
  }
  div(a: Value, b: Value): Value {
    return this.binary('Div', a, b);
  }
  /** Elementwise maximum (ties send the gradient to `a`). */
  max(a: Value, b: Value): Value {
    return this.binary('Max', a, b);
  }
  neg(x: Value): Value {
    return this.unary('Neg', x);
  }
  abs(x: Value): Value {
    return this.unary('Abs', x);
  }
  sign(x: Value): Value {
    return this.unary('Sign', x);
  }
  relu(x: Value): Value {
    return this.unary('Relu', x);
  }
  sigmoid(x: Value): Value {
    return this.unary('Sigmoid', x);
  }
  tanh(x: Value): Value {
    return this.unary('Tanh', x);
  }
  exp(x: Value): Value {
    return this.unary('Exp', x);
  }
  log(x: Value): Value {
    return this.unary('Log', x);
  }
  sqrt(x: Value): Value {
    return this.unary('Sqrt', x);
  }
  /** ONNX Softplus, log(1 + e^x), computed stably by onnxruntime; gradient sigmoid(x). */
  softplus(x: Value): Value {
    return this.unary('Softplus', x);
  }
  identity(x: Value): Value {
    return this.emit1('Identity', [x], [...x.shape], x.dtype);
  }

  /** log(sigmoid(x)) = -softplus(-x): finite for any finite x (log(sigmoid(-40)) = -40). */
  logSigmoid(x: Value): Value {
    return this.neg(this.softplus(this.neg(x)));
  }

  /**
   * log(e^a + e^b) as a + softplus(b - a): stable for any gap, and its gradient (1 - s, s with
   * s = sigmoid(b - a)) is exact everywhere, ties included (a max-based form would send all of
   * the gradient to one side at a tie).
   */
  logSumExp2(a: Value, b: Value): Value {
    return this.add(a, this.softplus(this.sub(b, a)));
  }

  greater(a: Value, b: Value): Value {
    return this.compare('Greater', a, b);
  }
  greaterOrEqual(a: Value, b: Value): Value {
    return this.compare('GreaterOrEqual', a, b);
  }
  equal(a: Value, b: Value): Value {
    return this.compare('Equal', a, b);
  }

  where(cond: Value, a: Value, b: Value): Value {
    if (cond.dtype !== 'bool') throw new Error(`where: condition must be bool, got ${cond.dtype}`);
    if (a.dtype !== b.dtype) throw new Error(`where: branches differ in dtype (${a.dtype} vs ${b.dtype})`);
    const shape = broadcastShapes('where', [cond.shape, a.shape, b.shape]);
    return this.emit1('Where', [cond, a, b], shape, a.dtype);
  }

  clip(x: Value, min: number, max: number): Value {
    this.requireFloat('clip', x);
    if (!(min <= max)) throw new Error(`clip: min ${min} > max ${max}`);
    return this.emit1('Clip', [x, this.constant(min), this.constant(max)], [...x.shape], x.dtype);
  }

  /** Inverted dropout: x * mask / keepProb, mask a 0/1 float input broadcastable to x. */
  dropout(x: Value, mask: Value, keepProb: number): Value {
    if (!(keepProb > 0 && keepProb <= 1)) throw new Error(`dropout: keepProb must be in (0, 1], got ${keepProb}`);
    const scaled = keepProb === 1 ? mask : this.mul(mask, this.constant(1 / keepProb));
    return this.mul(x, scaled);
  }

  cast(x: Value, to: DType): Value {
    return this.emit1('Cast', [x], [...x.shape], to, { to: { kind: 'int', value: ONNX_TYPE[to] } });
  }

  // ---------------------------------------------------------------- linear algebra

  /** [.., m, k] x [.., k, n] with numpy batch broadcasting; both operands at least 2-D. */
  matmul(a: Value, b: Value): Value {
    this.requireFloat('matmul', a);
    this.requireFloat('matmul', b);
    if (a.shape.length < 2 || b.shape.length < 2) {
      throw new Error(`matmul: operands must be at least 2-D, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    }
    const [m, k1] = a.shape.slice(-2) as [Dim, Dim];
    const [k2, n] = b.shape.slice(-2) as [Dim, Dim];
    if (k1 !== k2) throw new Error(`matmul: inner dims differ, ${formatShape(a.shape)} x ${formatShape(b.shape)}`);
    const batch = broadcastShapes('matmul', [a.shape.slice(0, -2), b.shape.slice(0, -2)]);
    return this.emit1('MatMul', [a, b], [...batch, m, n], a.dtype);
  }

  /** x[batch, k] W[k, n] (+ b[n]) as one Gemm. */
  linear(x: Value, w: Value, b?: Value): Value {
    return this.gemm(x, w, b);
  }

  /** ONNX Gemm: alpha op(A) op(B) + beta C, A and B 2-D, C unidirectionally broadcast. */
  gemm(a: Value, b: Value, c?: Value, opts: GemmOptions = {}): Value {
    this.requireFloat('gemm', a);
    this.requireFloat('gemm', b);
    if (a.shape.length !== 2 || b.shape.length !== 2) {
      throw new Error(`gemm: operands must be 2-D, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
    }
    const [m, ka] = opts.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [kb, n] = opts.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (ka !== kb) {
      throw new Error(
        `gemm: inner dims differ, ${formatShape(a.shape)}${opts.transA ? 'ᵀ' : ''} x ${formatShape(b.shape)}${opts.transB ? 'ᵀ' : ''}`,
      );
    }
    const out = [m, n];
    if (c) {
      const bc = broadcastShapes('gemm bias', [c.shape, out]);
      if (bc.length !== 2 || bc[0] !== m || bc[1] !== n) {
        throw new Error(`gemm: bias ${formatShape(c.shape)} does not broadcast to ${formatShape(out)}`);
      }
    }
    const attrs: Record<string, Attr> = {};
    if (opts.transA) attrs['transA'] = { kind: 'int', value: 1 };
    if (opts.transB) attrs['transB'] = { kind: 'int', value: 1 };
    if (opts.alpha !== undefined && opts.alpha !== 1) attrs['alpha'] = { kind: 'float', value: opts.alpha };
    if (opts.beta !== undefined && opts.beta !== 1) attrs['beta'] = { kind: 'float', value: opts.beta };
    return this.emit1('Gemm', c ? [a, b, c] : [a, b], out, a.dtype, attrs);
  }

  softmax(x: Value, axis = -1): Value {
    this.requireFloat('softmax', x);
    const ax = normaliseAxis('softmax', axis, x.shape.length);
    return this.emit1('Softmax', [x], [...x.shape], x.dtype, { axis: { kind: 'int', value: ax } });
  }

  // ---------------------------------------------------------------- reductions

  /** Sum over `axes`; keepdims defaults to false (numpy's default, not ONNX's). */
  reduceSum(x: Value, axes: number[], keepdims = false): Value {
    const ax = normaliseAxes('reduceSum', axes, x.shape.length);
    if (ax.length === 0) throw new Error('reduceSum: no axes given');
    return this.emit1('ReduceSum', [x, this.int64Constant(ax)], reducedShape(x.shape, ax, keepdims), x.dtype, {
      keepdims: { kind: 'int', value: keepdims ? 1 : 0 },
    });
  }

  /** Mean over `axes`; keepdims defaults to false. Opset 17 ReduceMean takes axes as an attribute. */
  reduceMean(x: Value, axes: number[], keepdims = false): Value {
    const ax = normaliseAxes('reduceMean', axes, x.shape.length);
    if (ax.length === 0) throw new Error('reduceMean: no axes given');
    return this.emit1('ReduceMean', [x], reducedShape(x.shape, ax, keepdims), x.dtype, {
      axes: { kind: 'ints', value: ax },
      keepdims: { kind: 'int', value: keepdims ? 1 : 0 },
    });
  }

  // ---------------------------------------------------------------- shape manipulation

  concat(xs: Value[], axis: number): Value {
    if (xs.length === 0) throw new Error('concat: no inputs');
    const first = xs[0]!;
    const rank = first.shape.length;
    const ax = normaliseAxis('concat', axis, rank);
    let total = 0;
    for (const x of xs) {
      const ok = x.dtype === first.dtype && x.shape.length === rank && x.shape.every((d, i) => i === ax || d === first.shape[i]);
      if (!ok) throw new Error(`concat: ${xs.map((v) => formatShape(v.shape)).join(', ')} differ off axis ${ax}`);
      const d = x.shape[ax];
      if (typeof d !== 'number') throw new Error(`concat: axis ${ax} is symbolic in ${formatShape(x.shape)}`);
      total += d;
    }
    const shape = [...first.shape];
    shape[ax] = total;
    return this.emit1('Concat', xs, shape, first.dtype, { axis: { kind: 'int', value: ax } });
  }

  /** x[..., start:end, ...] along one axis (python-style negative indices, clamped). */
  slice(x: Value, axis: number, start: number, end: number): Value {
    const ax = normaliseAxis('slice', axis, x.shape.length);
    const dim = x.shape[ax];
    if (typeof dim !== 'number') throw new Error(`slice: axis ${ax} is symbolic in ${formatShape(x.shape)}`);
    const clamp = (i: number): number => Math.min(dim, Math.max(0, i < 0 ? i + dim : i));
    const s = clamp(start);
    const e = clamp(end);
    if (e <= s) throw new Error(`slice: empty range ${start}:${end} of axis ${ax} in ${formatShape(x.shape)}`);
    const shape = [...x.shape];
    shape[ax] = e - s;
    return this.emit1('Slice', [x, this.int64Constant([s]), this.int64Constant([e]), this.int64Constant([ax])], shape, x.dtype);
  }

  split(x: Value, axis: number, sizes: number[]): Value[] {
    const ax = normaliseAxis('split', axis, x.shape.length);
    const dim = x.shape[ax];
    const sum = sizes.reduce((s, v) => s + v, 0);
    if (sizes.some((s) => !Number.isInteger(s) || s <= 0) || dim !== sum) {
      throw new Error(`split: sizes ${JSON.stringify(sizes)} do not partition axis ${ax} of ${formatShape(x.shape)}`);
    }
    const outs = sizes.map((s) => {
      const shape = [...x.shape];
      shape[ax] = s;
      return { shape, dtype: x.dtype };
    });
    return this.emit('Split', [x, this.int64Constant(sizes)], outs, { axis: { kind: 'int', value: ax } });
  }

  /**
   * Reshape to `shape`: numbers, at most one -1, or symbolic names. A name at the same position as
   * in x is encoded as 0 (copy that dim at run time); any other name becomes the single -1.
   */
  reshape(x: Value, shape: Dim[]): Value {
    const encoded: number[] = [];
    let inferAt = -1;
    shape.forEach((d, i) => {
      if (typeof d === 'number' && d !== -1) {
        if (!Number.isInteger(d) || d < 1) throw new Error(`reshape: bad dim ${d} in ${formatShape(shape)}`);
        encoded.push(d);
      } else if (typeof d === 'string' && x.shape[i] === d) {
        encoded.push(0);
      } else {
        if (inferAt >= 0) {
          throw new Error(`reshape: ${formatShape(x.shape)} -> ${formatShape(shape)} leaves more than one dim to infer`);
        }
        inferAt = i;
        encoded.push(-1);
      }
    });
    const out = [...shape];
    if (inferAt >= 0 && shape[inferAt] === -1) out[inferAt] = this.inferReshapeDim(x.shape, shape, inferAt);
    const inSize = numericSize(x.shape);
    const outSize = numericSize(out);
    if (inSize !== undefined && outSize !== undefined && inSize !== outSize) {
      throw new Error(`reshape: ${formatShape(x.shape)} (${inSize} values) cannot become ${formatShape(out)} (${outSize})`);
    }
    return this.emit1('Reshape', [x, this.int64Constant(encoded)], out, x.dtype);
  }

  transpose(x: Value, perm: number[]): Value {
    const rank = x.shape.length;
    const ok = perm.length === rank && [...perm].sort((p, q) => p - q).every((p, i) => p === i);
    if (!ok) throw new Error(`transpose: ${JSON.stringify(perm)} is not a permutation of rank ${rank}`);
    return this.emit1('Transpose', [x], perm.map((p) => x.shape[p]!), x.dtype, { perm: { kind: 'ints', value: perm } });
  }

  /** Inserts size-1 axes; `axes` index the output. */
  unsqueeze(x: Value, axes: number[]): Value {
    const ax = normaliseAxes('unsqueeze', axes, x.shape.length + axes.length);
    return this.emit1('Unsqueeze', [x, this.int64Constant(ax)], unsqueezedShape(x.shape, ax), x.dtype);
  }

  squeeze(x: Value, axes: number[]): Value {
    const ax = normaliseAxes('squeeze', axes, x.shape.length);
    for (const a of ax) {
      if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${a} of ${formatShape(x.shape)} is not 1`);
    }
    return this.emit1('Squeeze', [x, this.int64Constant(ax)], reducedShape(x.shape, ax, false), x.dtype);
  }

  /** Broadcasts x to the run-time shape of `like` (Expand with Shape(like)). */
  expandLike(x: Value, like: Value): Value {
    const shape = broadcastShapes('expandLike', [x.shape, like.shape]);
    return this.emit1('Expand', [x, this.shapeOf(like)], shape, x.dtype);
  }

  /** Zeros shaped like v at run time (numeric shapes become a constant). */
  zerosLike(v: Value): Value {
    const size = numericSize(v.shape);
    if (size !== undefined && size <= 1) return this.constant(new Float32Array(size), v.shape as number[]);
    const value: ConstTensor = { dtype: v.dtype, dims: [1], data: new Float64Array(1) };
    return this.emit1('ConstantOfShape', [this.shapeOf(v)], [...v.shape], v.dtype, { value: { kind: 'tensor', value } });
  }

  /** Run-time shape of v as an int64 vector (a constant when v's shape is fully numeric). */
  shapeOf(v: Value): Value {
    const dims = v.shape;
    if (dims.every((d) => typeof d === 'number')) return this.int64Constant(dims as number[]);
    return this.emit1('Shape', [v], [dims.length], 'int64');
  }

  // ---------------------------------------------------------------- internals

  private unary(op: string, x: Value): Value {
    this.requireFloat(op, x);
    return this.emit1(op, [x], [...x.shape], x.dtype);
  }

  private binary(op: string, a: Value, b: Value): Value {
    this.requireFloat(op, a);
    this.requireFloat(op, b);
    return this.emit1(op, [a, b], broadcastShapes(op, [a.shape, b.shape]), a.dtype);
  }

  private compare(op: string, a: Value, b: Value): Value {
    if (a.dtype !== b.dtype) throw new Error(`${op}: dtypes differ (${a.dtype} vs ${b.dtype})`);
    return this.emit1(op, [a, b], broadcastShapes(op, [a.shape, b.shape]), 'bool');
  }

  private requireFloat(op: string, v: Value): void {
    if (v.dtype !== this.floatType) throw new Error(`${op}: '${v.name}' is ${v.dtype}, expected ${this.floatType}`);
  }

  private resolveType(dtype: DType): DType {
    return dtype === 'float32' || dtype === 'float64' ? this.floatType : dtype;
  }

  private inferReshapeDim(inShape: readonly Dim[], outShape: readonly Dim[], at: number): Dim {
    const rest = outShape.filter((_, i) => i !== at);
    const numeric = (s: readonly Dim[]): number => s.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
    const symbols = (s: readonly Dim[]): string[] => s.filter((d): d is string => typeof d === 'string').sort();
    const extra = [...symbols(inShape)];
    for (const s of symbols(rest)) {
      const k = extra.indexOf(s);
      if (k < 0) throw new Error(`reshape: cannot infer -1 in ${formatShape(outShape)} from ${formatShape(inShape)}`);
      extra.splice(k, 1);
    }
    const ratio = numeric(inShape) / numeric(rest);
    if (!Number.isInteger(ratio) || extra.length > 1) {
      throw new Error(`reshape: cannot infer -1 in ${formatShape(outShape)} from ${formatShape(inShape)}`);
    }
    if (extra.length === 0) return ratio;
    return ratio === 1 ? extra[0]! : `${extra[0]!}*${ratio}`;
  }

  private cachedConstant(key: string | undefined, tensor: ConstTensor): Value {
    const hit = key !== undefined ? this.constCache.get(key) : undefined;
    if (hit) return hit;
    const v = this.addValue(this.freshName('const'), [...tensor.dims], tensor.dtype, { kind: 'const', constant: tensor });
    if (key !== undefined) this.constCache.set(key, v);
    return v;
  }

  /** A generated name that no value (including user-named ones) has taken. */
  private freshName(prefix: string): string {
    let name = `${prefix}_${this.records.length}`;
    while (this.names.has(name)) name += '_';
    return name;
  }

  private addValue(name: string, shape: Dim[], dtype: DType, rec: Omit<ValueRecord, 'value'>): Value {
    if (this.names.has(name)) throw new Error(`value name '${name}' is used twice`);
    const value: Value = Object.freeze({ id: this.records.length, name, shape: Object.freeze(shape) as Dim[], dtype });
    this.names.add(name);
    this.records.push({ value, ...rec });
    return value;
  }

  private check(v: Value): ValueRecord {
    const rec = this.records[v.id];
    if (!rec || rec.value !== v) throw new Error(`value '${v.name}' does not belong to graph '${this.name}'`);
    return rec;
  }
}

/** ONNX TensorProto.DataType codes. */
export const ONNX_TYPE: Record<DType, number> = { float32: 1, float64: 11, int64: 7, bool: 9 };
