import type { Graph, Value } from '../../graph/graph.js';
import { gradients } from '../../graph/autodiff.js';
import type { SeqInput } from './inputs-and-bottoms.js';

export interface GradientOutputs {
  /** Dense gradient output per parameter. */
  paramGrads: { param: string; output: string }[];
  /** Gradient output per gathered-embedding input. */
  embGrads: { group: string; output: string }[];
  /** Gradient output `grad/seq/<group>/<field>` per sequence input. */
  seqGrads: { group: string; field: string; output: string }[];
}

/**
 * Reverse-mode gradients of the total loss, one backward pass: an output `grad/NAME` per dense
 * parameter, per gathered-embedding input and per attention sequence input.
 */
export function buildGradientOutputs(
  g: Graph,
  total: Value,
  emb: { inputs: { group: string; input: string }[]; values: Value[] },
  seq: { inputs: SeqInput[]; values: Value[] },
): GradientOutputs {
  const out: GradientOutputs = { paramGrads: [], embGrads: [], seqGrads: [] };
  const params = g.params().map((p) => p.value);
  const grads = gradients(g, total, [...params, ...emb.values, ...seq.values]);
  params.forEach((p, i) => {
    const output = `grad/${p.name}`;
    g.output(output, grads[i]!);
    out.paramGrads.push({ param: p.name, output });
  });
  emb.inputs.forEach((e, i) => {
    const output = `grad/${e.input}`;
    g.output(output, grads[params.length + i]!);
    out.embGrads.push({ group: e.group, output });
  });
  seq.inputs.forEach((q, i) => {
    const output = `grad/${q.input}`;
    g.output(output, grads[params.length + emb.inputs.length + i]!);
    out.seqGrads.push({ group: q.group, field: q.field, output });
  });
  return out;
}
