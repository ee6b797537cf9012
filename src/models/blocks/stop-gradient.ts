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
