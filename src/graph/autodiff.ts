/**
 * Reverse-mode differentiation over a Graph: appends gradient nodes to the same graph and
 * returns d(loss)/d(v) for each requested value. Only nodes on a path from some `wrt` value to
 * the loss get backward nodes; gradients of values used several times are summed with Add.
 * The per-op rules live in grad-rules.ts.
 */
import type { Graph, Value } from './graph.js';
import { GRAD_RULES, NON_DIFFERENTIABLE } from './grad-rules.js';
import { formatShape, numericSize } from './shapes.js';

export function gradients(g: Graph, loss: Value, wrt: Value[]): Value[] {
  if (numericSize(loss.shape) !== 1) throw new Error(`gradients: loss must be a scalar, got shape ${formatShape(loss.shape)}`);
  const nodes = g.nodes().slice(); // gradient nodes appended below are not walked
  const dependsOnWrt = new Set(wrt.map((v) => v.id));
  for (const node of nodes) {
    if (NON_DIFFERENTIABLE.has(node.op)) continue;
    if (node.inputs.some((v) => dependsOnWrt.has(v.id))) node.outputs.forEach((o) => dependsOnWrt.add(o.id));
  }

  const pending = new Map<number, Value[]>();
  const gradOf = (v: Value): Value | undefined => {
    const list = pending.get(v.id);
    if (!list || list.length === 0) return undefined;
    if (list.length > 1) {
      const sum = list.reduce((acc, x) => g.add(acc, x));
      list.splice(0, list.length, sum); // keep the sum so a second read emits no new Adds
    }
    return list[0];
  };
  const accumulate = (v: Value, d: Value): void => {
    const list = pending.get(v.id);
    if (list) list.push(d);
    else pending.set(v.id, [d]);
  };

  accumulate(loss, g.constant(1, loss.shape as number[]));
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.outputs.some((o) => dependsOnWrt.has(o.id) && pending.has(o.id))) continue;
    const needs = node.inputs.map((v) => dependsOnWrt.has(v.id));
    if (!needs.some(Boolean)) continue;
    const rule = GRAD_RULES[node.op];
    if (!rule) throw new Error(`gradients: no gradient rule for ${node.op}`);
    const dys = node.outputs.map((o) => gradOf(o));
    const dxs = rule({ g, node, dys, needs });
    node.inputs.forEach((input, k) => {
      const dx = dxs[k];
      if (needs[k] && dx) accumulate(input, dx);
    });
  }

  return wrt.map((v) => gradOf(v) ?? g.zerosLike(v));
}
