/**
 * Backward rules, one per differentiable ONNX op we emit. Each rule receives the gradients of
 * the node's outputs and returns one gradient per input (undefined where an input needs none).
 * Rules emit ordinary nodes into the same graph, reusing forward values (Sigmoid's output, the
 * MatMul operands) instead of recomputing them. Matrix products use Gemm's transA/transB flags so
 * the hot path has no Transpose nodes.
 */
import type { Attr, Graph, Node, Value } from './graph.js';
import { broadcastAxes, numericSize, sameShape } from './shapes.js';

export interface GradContext {
  g: Graph;
  node: Node;
  /** Gradient of each output; undefined for outputs nothing downstream differentiates. */
  dys: (Value | undefined)[];
  /** needs[i]: input i lies on a path to a requested gradient. */
  needs: boolean[];
}

export type GradRule = (ctx: GradContext) => (Value | undefined)[];

/** Ops whose outputs carry no gradient (comparisons, shape queries). */
export const NON_DIFFERENTIABLE = new Set([
  'Greater',
  'GreaterOrEqual',
  'Equal',
  'Shape',
  'Size',
  'ConstantOfShape',
  'Sign',
  'Cast',
]);

/** Sums a gradient of the broadcast output shape back down to an operand's shape. */
export function unbroadcast(g: Graph, grad: Value, target: Value['shape']): Value {
  if (sameShape(grad.shape, target)) return grad;
  const { leading, ones } = broadcastAxes(target, grad.shape);
  if (leading.length + ones.length === 0) return grad;
  const summed = g.reduceSum(grad, [...leading, ...ones], true);
  return leading.length > 0 ? g.squeeze(summed, leading) : summed;
}

function intAttr(node: Node, name: string, fallback: number): number {
  const a: Attr | undefined = node.attrs[name];
  return a && (a.kind === 'int' || a.kind === 'float') ? a.value : fallback;
}

function intsAttr(node: Node, name: string): number[] {
  const a = node.attrs[name];
  if (!a || a.kind !== 'ints') throw new Error(`${node.op}: missing attribute ${name}`);
  return a.value;
}

/** Reads an int64 constant input (axes, sizes) back as numbers. */
function int64Input(g: Graph, v: Value): number[] {
  const c = g.constantOf(v);
  if (!c || c.dtype !== 'int64') throw new Error(`expected an int64 constant, got '${v.name}'`);
  return Array.from(c.data as BigInt64Array, Number);
}

const x0 = (n: Node): Value => n.inputs[0]!;
const y0 = (n: Node): Value => n.outputs[0]!;

const unaryRules: Record<string, (g: Graph, dy: Value, x: Value, y: Value) => Value> = {
  Neg: (g, dy) => g.neg(dy),
  Identity: (_g, dy) => dy,
  Abs: (g, dy, x) => g.mul(dy, g.sign(x)),
  Relu: (g, dy, x) => g.where(g.greater(x, g.constant(0)), dy, g.constant(0)),
  Sigmoid: (g, dy, _x, y) => g.mul(dy, g.mul(y, g.sub(g.constant(1), y))),
  Tanh: (g, dy, _x, y) => g.mul(dy, g.sub(g.constant(1), g.mul(y, y))),
  Exp: (g, dy, _x, y) => g.mul(dy, y),
  Log: (g, dy, x) => g.div(dy, x),
  Sqrt: (g, dy, _x, y) => g.div(g.mul(dy, g.constant(0.5)), y),
  Softplus: (g, dy, x) => g.mul(dy, g.sigmoid(x)),
  // The clipped output equals x exactly where x is inside [min, max]: gradient passes there.
  Clip: (g, dy, x, y) => g.where(g.equal(y, x), dy, g.constant(0)),
};

function matmulRule({ g, node, dys, needs }: GradContext): (Value | undefined)[] {
  const [a, b] = node.inputs as [Value, Value];
  const dy = dys[0]!;
  if (a.shape.length === 2 && b.shape.length === 2) {
    return [needs[0] ? g.gemm(dy, b, undefined, { transB: true }) : undefined, needs[1] ? g.gemm(a, dy, undefined, { transA: true }) : undefined];
  }
  const swapLast = (v: Value): Value => {
    const perm = v.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
    return g.transpose(v, perm);
  };
  let da: Value | undefined;
  let db: Value | undefined;
  if (needs[0]) da = unbroadcast(g, g.matmul(dy, swapLast(b)), a.shape);
  if (needs[1]) {
    if (b.shape.length === 2) {
      // [.., m, k] x [k, n]: fold the batch dims into rows and use one transposed Gemm.
      const k = a.shape[a.shape.length - 1]!;
      const n = b.shape[1]!;
      db = g.gemm(g.reshape(a, [-1, k]), g.reshape(dy, [-1, n]), undefined, { transA: true });
    } else {
      db = unbroadcast(g, g.matmul(swapLast(a), dy), b.shape);
    }
  }
  return [da, db];
}

function gemmRule({ g, node, dys, needs }: GradContext): (Value | undefined)[] {
  const [a, b, c] = node.inputs as [Value, Value, Value | undefined];
  const dy = dys[0]!;
  const ta = intAttr(node, 'transA', 0) === 1;
  const tb = intAttr(node, 'transB', 0) === 1;
  const alpha = intAttr(node, 'alpha', 1);
  const beta = intAttr(node, 'beta', 1);
  const opts = (transA: boolean, transB: boolean) => ({ transA, transB, alpha });
  let da: Value | undefined;
  let db: Value | undefined;
  if (needs[0]) {
    // Y = op(A) op(B): dop(A) = dY op(B)ᵀ, transposed back when A was transposed.
    if (!ta) da = tb ? g.gemm(dy, b, undefined, opts(false, false)) : g.gemm(dy, b, undefined, opts(false, true));
    else da = tb ? g.gemm(b, dy, undefined, opts(true, true)) : g.gemm(b, dy, undefined, opts(false, true));
  }
  if (needs[1]) {
    if (!tb) db = ta ? g.gemm(a, dy, undefined, opts(false, false)) : g.gemm(a, dy, undefined, opts(true, false));
    else db = ta ? g.gemm(dy, a, undefined, opts(true, true)) : g.gemm(dy, a, undefined, opts(true, false));
  }
  let dc: Value | undefined;
  if (c && needs[2]) {
    const scaled = beta === 1 ? dy : g.mul(dy, g.constant(beta));
    dc = unbroadcast(g, scaled, c.shape);
  }
  return [da, db, dc];
}

function reduceGrad(g: Graph, node: Node, dy: Value, axes: number[]): Value {
  const keep = intAttr(node, 'keepdims', 1) === 1;
  const dyKept = keep ? dy : g.unsqueeze(dy, axes);
  return g.expandLike(dyKept, x0(node));
}

function reduceMeanRule({ g, node, dys }: GradContext): (Value | undefined)[] {
  const x = x0(node);
  const axes = intsAttr(node, 'axes');
  const spread = reduceGrad(g, node, dys[0]!, axes);
  const count = numericSize(axes.map((a) => x.shape[a]!));
  if (count !== undefined) return [g.mul(spread, g.constant(1 / count))];
  // A symbolic reduced dim (the batch): count = Size(x) / Size(y) at run time.
  const [sx] = g.emit('Size', [x], [{ shape: [], dtype: 'int64' }]);
  const [sy] = g.emit('Size', [y0(node)], [{ shape: [], dtype: 'int64' }]);
  const [n] = g.emit('Div', [sx!, sy!], [{ shape: [], dtype: 'int64' }]);
  return [g.div(spread, g.cast(n!, g.floatType))];
}

function splitRule({ g, node, dys }: GradContext): (Value | undefined)[] {
  const axis = intAttr(node, 'axis', 0);
  const parts = node.outputs.map((o, i) => dys[i] ?? g.zerosLike(o));
  return [g.concat(parts, axis), undefined];
}

function sliceRule({ g, node, dys }: GradContext): (Value | undefined)[] {
  const x = x0(node);
  const [start] = int64Input(g, node.inputs[1]!);
  const [end] = int64Input(g, node.inputs[2]!);
  const [axis] = int64Input(g, node.inputs[3]!);
  const rank = x.shape.length;
  const pads = new Array<number>(2 * rank).fill(0);
  pads[axis!] = start!;
  pads[rank + axis!] = (x.shape[axis!] as number) - end!;
  const [dx] = g.emit('Pad', [dys[0]!, g.int64Constant(pads)], [{ shape: [...x.shape], dtype: x.dtype }]);
  return [dx, undefined, undefined, undefined];
}

function softmaxRule({ g, node, dys }: GradContext): (Value | undefined)[] {
  const y = y0(node);
  const dy = dys[0]!;
  const axis = intAttr(node, 'axis', -1);
  const dot = g.reduceSum(g.mul(dy, y), [axis], true);
  return [g.mul(y, g.sub(dy, dot))];
}

export const GRAD_RULES: Record<string, GradRule> = {
  Add: ({ g, node, dys, needs }) => {
    const [a, b] = node.inputs as [Value, Value];
    return [needs[0] ? unbroadcast(g, dys[0]!, a.shape) : undefined, needs[1] ? unbroadcast(g, dys[0]!, b.shape) : undefined];
  },
  Sub: ({ g, node, dys, needs }) => {
    const [a, b] = node.inputs as [Value, Value];
    return [needs[0] ? unbroadcast(g, dys[0]!, a.shape) : undefined, needs[1] ? g.neg(unbroadcast(g, dys[0]!, b.shape)) : undefined];
  },
  Mul: ({ g, node, dys, needs }) => {
    const [a, b] = node.inputs as [Value, Value];
    const dy = dys[0]!;
    return [needs[0] ? unbroadcast(g, g.mul(dy, b), a.shape) : undefined, needs[1] ? unbroadcast(g, g.mul(dy, a), b.shape) : undefined];
  },
  Div: ({ g, node, dys, needs }) => {
    const [a, b] = node.inputs as [Value, Value];
    const dy = dys[0]!;
    // d(a/b)/db = -(a/b)/b: reuse the forward quotient.
    return [
      needs[0] ? unbroadcast(g, g.div(dy, b), a.shape) : undefined,
      needs[1] ? g.neg(unbroadcast(g, g.mul(dy, g.div(y0(node), b)), b.shape)) : undefined,
    ];
  },
  Max: ({ g, node, dys, needs }) => {
    const [a, b] = node.inputs as [Value, Value];
    const dy = dys[0]!;
    const aWins = g.greaterOrEqual(a, b);
    const zero = g.constant(0);
    return [
      needs[0] ? unbroadcast(g, g.where(aWins, dy, zero), a.shape) : undefined,
      needs[1] ? unbroadcast(g, g.where(aWins, zero, dy), b.shape) : undefined,
    ];
  },
  Where: ({ g, node, dys, needs }) => {
    const [c, a, b] = node.inputs as [Value, Value, Value];
    const dy = dys[0]!;
    const zero = g.constant(0);
    return [
      undefined,
      needs[1] ? unbroadcast(g, g.where(c, dy, zero), a.shape) : undefined,
      needs[2] ? unbroadcast(g, g.where(c, zero, dy), b.shape) : undefined,
    ];
  },
  MatMul: matmulRule,
  Gemm: gemmRule,
  Softmax: softmaxRule,
  ReduceSum: ({ g, node, dys }) => [reduceGrad(g, node, dys[0]!, int64Input(g, node.inputs[1]!)), undefined],
  ReduceMean: reduceMeanRule,
  Concat: ({ g, node, dys }) => {
    const axis = intAttr(node, 'axis', 0);
    const sizes = node.inputs.map((v) => v.shape[axis] as number);
    return node.inputs.length === 1 ? [dys[0]!] : g.split(dys[0]!, axis, sizes);
  },
  Split: splitRule,
  Slice: sliceRule,
  Reshape: ({ g, node, dys }) => {
    const x = x0(node);
    const [dx] = g.emit('Reshape', [dys[0]!, g.shapeOf(x)], [{ shape: [...x.shape], dtype: x.dtype }]);
    return [dx, undefined];
  },
  Transpose: ({ g, node, dys }) => {
    const perm = intsAttr(node, 'perm');
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [g.transpose(dys[0]!, inverse)];
  },
  Unsqueeze: ({ g, node, dys }) => [g.squeeze(dys[0]!, int64Input(g, node.inputs[1]!)), undefined],
  Squeeze: ({ g, node, dys }) => [g.unsqueeze(dys[0]!, int64Input(g, node.inputs[1]!)), undefined],
  Expand: ({ g, node, dys }) => [unbroadcast(g, dys[0]!, x0(node).shape), undefined],
};

for (const [op, rule] of Object.entries(unaryRules)) {
  GRAD_RULES[op] = ({ g, node, dys }) => {
    const grads: (Value | undefined)[] = node.inputs.map(() => undefined);
    grads[0] = rule(g, dys[0]!, x0(node), y0(node));
    return grads;
  };
}
