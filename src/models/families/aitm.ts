import type { Schema } from '../../data/schema.js';
import { tower } from '../funnel.js';
import type { LabelKey } from '../../data/batch.js';
import type { FunnelModelSpec } from '../funnel-spec.js';
import { funnelStages } from './stages.js';

/**
 * AITM (Xi et al., KDD'21): one tower per stage of the chain (click, each action, buy), tower t
 * predicting the entire-space probability y_t = p(stages 1..t | impression) directly (eq. 1), its
 * hidden vector fed the previous tower's through the AIT module (eq. 2-5), a BCE loss per stage
 * over all impressions (eq. 6) and the behavioural expectation calibrator (eq. 7).
 * pCVR = y_N / y_1, clipped to [0, 1].
 */
export function aitm(schema: Schema): FunnelModelSpec {
  const stages = funnelStages(schema);
  const names = stages.map((s, k) => `stage${k + 1}_${s}`);
  const y = names.map((n) => tower(n));
  const last = y.length - 1;
  return {
    name: 'aitm',
    description: `AITM: ${['impression', ...stages].join(' -> ')} with adaptive information transfer`,
    towers: names.map((name, k) => ({
      name,
      predicts: `p(${stages.slice(0, k + 1).join(', ')} | impression)`,
      embeddings: 'shared',
      ...(k > 0 ? { transferFrom: names[k - 1]! } : {}),
    })),
    losses: stages.map((s, k) => ({
      name: k === 0 ? 'ctr' : k === last ? 'ctcvr' : `stage${k + 1}`,
      prob: y[k]!,
      label: (k === 0 ? 'click' : k === last ? 'buy' : `col:${s}`) as LabelKey,
      space: 'impressions' as const,
    })),
    regularizers: [{ kind: 'calibrator', name: 'calibrator', stages: y }],
    outputs: {
      pctr: y[0]!,
      pcvr: { kind: 'ratio', num: y[last]!, den: y[0]! },
      pctcvr: y[last]!,
      ...(stages.length > 2 ? { paction: { kind: 'ratio' as const, num: y[1]!, den: y[0]! } } : {}),
    },
  };
}
