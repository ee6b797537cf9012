/**
 * The loss module: every binary cross-entropy esmm builds is here, in log space, so losses on
 * products of probabilities (pCTCVR = pCTR pCVR) stay finite at logits of +-40 and beyond: never
 * the log of a rounded product (DESIGN.md). The graph builder (models/build/training-losses.ts)
 * and the regularisers (models/regularizers.ts) take their BCE from here.
 *
 * Where log p and log(1 - p) come from: models/funnel.ts carries every funnel probability as that
 * pair. For a product x y it computes
 *   log(x y)     = log x + log y
 *   log(1 - x y) = logsumexp(log(1 - x), log x + log(1 - y))        (1 - xy = (1 - x) + x (1 - y))
 * which for x = sigmoid(a), y = sigmoid(b) equals DESIGN.md's
 *   log(1 - pCTR pCVR) = logsumexp(-a, -b, -a-b) - softplus(-a) - softplus(-b)
 * (log1mProduct below): the same quantity, both stable, but the training graph uses the
 * two-term form, which also serves products of more factors and ESM2's branches.
 */
import type { Graph, Value } from './graph.js';

/** log(1 - sigmoid(a) sigmoid(b)), finite for any finite logits a, b (DESIGN.md's form; see above). */
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

/** Per-element log-likelihood y log p + (1 - y) log(1 - p), as y (log p - log(1 - p)) + log(1 - p). */
export function logLikelihood(g: Graph, logp: Value, log1mp: Value, label: Value): Value {
  return g.add(g.mul(label, g.sub(logp, log1mp)), log1mp);
}

/**
 * The training loss of a funnel model's BCE terms (ESMM eq. 3, ESM2 eq. 10): mean binary
 * cross-entropy -mean(y log p + (1 - y) log(1 - p)) over the batch, a scalar. With `rowMask`, the
 * mean is over rows where the mask is 1 (the clicked space of the naive CVR baseline).
 */
export function bce(g: Graph, logp: Value, log1mp: Value, label: Value, rowMask?: Value): Value {
  const ll = logLikelihood(g, logp, log1mp, label);
  if (rowMask === undefined) return g.neg(g.reduceMean(ll, [0, 1], false));
  const sum = g.reduceSum(g.mul(ll, rowMask), [0, 1], false);
  const count = g.clip(g.reduceSum(rowMask, [0, 1], false), 1, 1e30);
  return g.neg(g.div(sum, count));
}

/** Per-row BCE -(y log p + (1 - y) log(1 - p)), same shape as the inputs (ESCM2's CVR error e_i). */
export function rowBce(g: Graph, logp: Value, log1mp: Value, label: Value): Value {
  return g.neg(logLikelihood(g, logp, log1mp, label));
}

/**
 * Mean binary cross-entropy -mean(w (y log p + (1 - y) log(1 - p))) from log p and log(1 - p) over
 * every element, as a scalar (shape []). With a weight, the mean still divides by the number of
 * elements.
 */
export function bceFromLogProbs(g: Graph, logp: Value, log1mp: Value, label: Value, weight?: Value): Value {
  const ll = logLikelihood(g, logp, log1mp, label);
  const weighted = weight ? g.mul(ll, weight) : ll;
  const axes = weighted.shape.map((_, i) => i);
  const mean = axes.length > 0 ? g.reduceMean(weighted, axes, false) : weighted;
  return g.neg(mean);
}

/** Mean BCE of sigmoid(logit) against 0/1 labels: log p = logsig(z), log(1 - p) = logsig(-z). */
export function bceWithLogits(g: Graph, logit: Value, label: Value): Value {
  return bceFromLogProbs(g, g.logSigmoid(logit), g.logSigmoid(g.neg(logit)), label);
}
