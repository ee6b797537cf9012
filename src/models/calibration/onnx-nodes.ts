import type { Graph, Value } from '../../graph/graph.js';
import { isotonicSegments, PLATT_EPS, RATIO_FLOOR, type Calibration, type Calibrator } from './calibrator.js';

/**
 * The calibration as ONNX nodes appended after a forward graph's probabilities (each [batch, 1]),
 * computing what calibratePredictions computes in TypeScript:
 * - Platt: Clip -> Log(p) - Log(1 - p) -> Mul a -> Add b -> Sigmoid;
 * - isotonic: Max(p, x0); k = ReduceSum(Cast(p >= breaks)); Gather the segment's start, value and
 *   slope at k; y = ys[k] + slope[k] * (p - xs[k]) (piecewise linear, flat outside the knots);
 * - product form: pCVR' through its own calibrator; pCTCVR = pCTR' x pCVR';
 * - ratio form (models saved before the product form): pCVR = Min(1, pCTCVR' / Max(pCTR', floor));
 *   pCTCVR = pCTR' x pCVR.
 */
export function calibrationNodes(g: Graph, probs: { pctr: Value; pcvr: Value; pctcvr: Value }, cal: Calibration): { pctr: Value; pcvr: Value; pctcvr: Value } {
  const pctr = calibratorNodes(g, probs.pctr, cal.pctr);
  if (cal.form === 'product') {
    const pcvr = calibratorNodes(g, probs.pcvr, cal.pcvr);
    return { pctr, pcvr, pctcvr: g.mul(pctr, pcvr) };
  }
  const ctcvr = calibratorNodes(g, probs.pctcvr, cal.pctcvr);
  const den = g.max(pctr, g.constant(RATIO_FLOOR));
  const ratio = g.div(ctcvr, den);
  const [pcvr] = g.emit('Min', [ratio, g.constant(1)], [{ shape: [...ratio.shape], dtype: ratio.dtype }]);
  return { pctr, pcvr: pcvr!, pctcvr: g.mul(pctr, pcvr!) };
}

function calibratorNodes(g: Graph, p: Value, c: Calibrator): Value {
  if (c.kind === 'platt') {
    const q = g.clip(p, PLATT_EPS, 1 - PLATT_EPS);
    const z = g.sub(g.log(q), g.log(g.sub(g.constant(1), q)));
    // 1 / (1 + exp(-u)) rather than the Sigmoid op: onnxruntime's float32 Sigmoid is an
    // approximation (about 1e-6 relative), which the pCVR ratio below would amplify.
    const u = g.add(g.mul(g.constant(c.a), z), g.constant(c.b));
    return g.div(g.constant(1), g.add(g.constant(1), g.exp(g.neg(u))));
  }
  const seg = isotonicSegments(c);
  const q = g.max(p, g.constant(seg.xs[0]!));
  if (seg.breaks.length === 0) return g.add(g.mul(q, g.constant(0)), g.constant(seg.ys[0]!));
  // k = number of breaks <= q, per row: [batch, 1] >= [K-1] -> [batch, K-1] -> sum -> [batch, 1].
  const ge = g.cast(g.greaterOrEqual(q, g.constant(seg.breaks)), g.floatType);
  const k = g.cast(g.reduceSum(ge, [1], true), 'int64');
  const gather = (table: Float32Array): Value => {
    const [v] = g.emit('Gather', [g.constant(table), k], [{ shape: [...k.shape], dtype: g.floatType }], { axis: { kind: 'int', value: 0 } });
    return v!;
  };
  return g.add(gather(seg.ys), g.mul(gather(seg.slopes), g.sub(q, gather(seg.xs))));
}
