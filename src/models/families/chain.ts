import type { Schema } from '../../data/schema.js';
import { product, tower } from '../funnel.js';
import type { FunnelModelSpec } from '../funnel-spec.js';
import { funnelStages } from './stages.js';

/**
 * An N-stage chain (impression -> click -> action_1 -> ... -> buy), stages taken from
 * schema.labels in funnel order. Tower k predicts p(stage k | stage k-1); the loss of stage k is
 * on the product of towers 1..k against stage k's label, over all impressions.
 */
export function chain(schema: Schema): FunnelModelSpec {
  const stages = funnelStages(schema);
  const towers = stages.map((s, k) => ({
    name: `stage${k + 1}_${s}`,
    predicts: k === 0 ? `p(${s} | impression)` : `p(${s} | ${stages[k - 1]})`,
    embeddings: 'shared',
  }));
  const probs = towers.map((t) => tower(t.name));
  const cumulative = probs.map((_, k) => product(...probs.slice(0, k + 1)));
  return {
    name: 'chain',
    description: `chain: ${['impression', ...stages].join(' -> ')}`,
    towers,
    losses: stages.map((s, k) => ({
      name: k === 0 ? 'ctr' : k === stages.length - 1 ? 'ctcvr' : `stage${k + 1}`,
      prob: cumulative[k]!,
      label: k === 0 ? 'click' : k === stages.length - 1 ? 'buy' : (`col:${s}` as const),
      space: 'impressions' as const,
    })),
    outputs: {
      pctr: probs[0]!,
      pcvr: product(...probs.slice(1)),
      pctcvr: cumulative[cumulative.length - 1]!,
      ...(stages.length > 2 ? { paction: probs[1]! } : {}),
    },
  };
}
