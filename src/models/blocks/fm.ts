import type { Graph, Value } from '../../graph/graph.js';
import type { FieldEmbeddings } from './block-context.js';

/**
 * FM second-order interactions (Rendle, ICDM'10, eq. 5; DeepFM's FM component):
 * sum_{f<f'} <e_f, e_f'> = 0.5 * sum_d ((sum_f e_fd)^2 - sum_f e_fd^2), as [batch, 1].
 */
export function fmInteraction(g: Graph, fields: FieldEmbeddings): Value {
  const e = g.reshape(fields.value, ['batch', fields.count, fields.dim]);
  const sum = g.reduceSum(e, [1]);
  const sumSq = g.reduceSum(g.mul(e, e), [1]);
  const pairs = g.reduceSum(g.sub(g.mul(sum, sum), sumSq), [1], true);
  return g.mul(pairs, g.constant(0.5));
}
