import type { Graph, Value } from '../../graph/graph.js';

/**
 * The identity in the forward pass with a zero gradient (tf.stop_gradient). Emitted as a Cast to
 * the value's own float type: an identity for ONNX Runtime, and an op the differentiator treats as
 * non-differentiable (graph/grad-rules.ts, NON_DIFFERENTIABLE), so nothing upstream of it receives
 * gradient through this path.
 */
export function stopGradient(g: Graph, x: Value): Value {
  return g.cast(x, x.dtype);
}

/**
 * The identity in the forward pass whose gradient is multiplied by `scale`:
 * scale * x + (1 - scale) * stop_gradient(x).
 */
export function scaleGradient(g: Graph, x: Value, scale: number): Value {
  if (scale === 1) return x;
  return g.add(g.mul(x, g.constant(scale)), g.mul(stopGradient(g, x), g.constant(1 - scale)));
}
