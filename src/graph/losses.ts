/**
 * Binary cross-entropy in log-space, so losses on products of probabilities (pCTCVR = pCTR pCVR)
 * stay finite at logits of +-40 and beyond: never log of a rounded product (DESIGN.md).
 *   log(pCTR pCVR)     = logsig(a) + logsig(b)
 *   log(1 - pCTR pCVR) = logsumexp(-a, -b, -a-b) - softplus(-a) - softplus(-b)
 */
import type { Graph, Value } from './graph.js';

/** log(1 - sigmoid(a) sigmoid(b)), finite for any finite logits a, b. */
export function log1mProduct(g: Graph, a: Value, b: Value): Value {
  const na = g.neg(a);
  const nb = g.neg(b);
  // 1 - s(a)s(b) = (e^-a + e^-b + e^-a-b) / ((1 + e^-a)(1 + e^-b))
  const lse = g.logSumExp2(g.logSumExp2(na, nb), g.sub(na, b));
  return g.sub(g.sub(lse, g.softplus(na)), g.softplus(nb));
}

/** log(sigmoid(a) sigmoid(b)). */
export function logProduct(g: Graph, a: Value, b: Value): Value {
  return g.add(g.logSigmoid(a), g.logSigmoid(b));
}

/**
 * Mean binary cross-entropy -mean(w (y log p + (1 - y) log(1 - p))) from log p and log(1 - p),
 * as a scalar (shape []). With a weight, the mean still divides by the number of elements.
 */
export function bceFromLogProbs(g: Graph, logp: Value, log1mp: Value, label: Value, weight?: Value): Value {
  const one = g.constant(1);
  const ll = g.add(g.mul(label, logp), g.mul(g.sub(one, label), log1mp));
  const weighted = weight ? g.mul(ll, weight) : ll;
  const axes = weighted.shape.map((_, i) => i);
  const mean = axes.length > 0 ? g.reduceMean(weighted, axes, false) : weighted;
  return g.neg(mean);
}

/** Mean BCE of sigmoid(logit) against 0/1 labels: log p = logsig(z), log(1 - p) = logsig(-z). */
export function bceWithLogits(g: Graph, logit: Value, label: Value): Value {
  return bceFromLogProbs(g, g.logSigmoid(logit), g.logSigmoid(g.neg(logit)), label);
}
