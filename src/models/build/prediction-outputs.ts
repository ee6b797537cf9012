import type { Graph, Value } from '../../graph/graph.js';
import { buildLogProb, type LogProbCache } from '../funnel.js';
import { isRatio, type FunnelModelSpec, type OutputExpr } from '../funnel-spec.js';
import type { Calibration } from '../calibration/calibrator.js';
import { calibrationNodes } from '../calibration/onnx-nodes.js';

/** Names of the user-facing probabilities, in output order. */
export const PREDICTIONS = ['pctr', 'pcvr', 'pctcvr', 'paction'] as const;
export type PredictionName = (typeof PREDICTIONS)[number];

/**
 * The graph outputs `pctr`, `pcvr`, `pctcvr` (and `paction` where declared): exp of the log-space
 * funnel expressions of the declaration (models/funnel.ts); returns the names present. Forward
 * graphs may append the post-hoc calibration (export) and each tower's own probability
 * `tower/<name>` (diagnostics).
 */
export function buildPredictionOutputs(
  g: Graph,
  spec: FunnelModelSpec,
  logits: Map<string, Value>,
  cache: LogProbCache,
  opts: { calibration?: Calibration; towerOutputs?: boolean } = {},
): PredictionName[] {
  const outputProb = (e: OutputExpr): Value => {
    if (isRatio(e)) {
      // DIVISION: pCVR = pCTCVR / pCTR clipped to [0, 1], i.e. exp(min(0, log num - log den)).
      const num = buildLogProb(g, e.num, logits, cache);
      const den = buildLogProb(g, e.den, logits, cache);
      return g.exp(g.clip(g.sub(num.logp, den.logp), -80, 0));
    }
    return g.exp(buildLogProb(g, e, logits, cache).logp);
  };
  const predictions: PredictionName[] = [];
  const probs = new Map<PredictionName, Value>();
  for (const p of PREDICTIONS) {
    const e = spec.outputs[p];
    if (e !== undefined) probs.set(p, outputProb(e));
  }
  if (opts.calibration !== undefined) {
    const c = calibrationNodes(g, { pctr: probs.get('pctr')!, pcvr: probs.get('pcvr')!, pctcvr: probs.get('pctcvr')! }, opts.calibration);
    for (const p of ['pctr', 'pcvr', 'pctcvr'] as const) probs.set(p, c[p]);
  }
  for (const [p, v] of probs) {
    g.output(p, v);
    predictions.push(p);
  }
  if (opts.towerOutputs === true) for (const [t, l] of logits) g.output(`tower/${t}`, g.sigmoid(l));
  return predictions;
}
