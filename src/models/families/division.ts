import { tower } from '../funnel.js';
import type { FunnelModelSpec } from '../funnel-spec.js';

/** DIVISION: separate CTR and CTCVR models on all impressions; pCVR = pCTCVR / pCTR, clipped to [0, 1]. */
export function division(): FunnelModelSpec {
  const ctr = tower('ctr');
  const ctcvr = tower('ctcvr');
  return {
    name: 'division',
    description: 'DIVISION: pCVR = pCTCVR / pCTR from separately trained models',
    towers: [
      { name: 'ctr', predicts: 'p(click | impression)', embeddings: 'ctr' },
      { name: 'ctcvr', predicts: 'p(click and buy | impression)', embeddings: 'ctcvr' },
    ],
    losses: [
      { name: 'ctr', prob: ctr, label: 'click', space: 'impressions' },
      { name: 'ctcvr', prob: ctcvr, label: 'buy', space: 'impressions' },
    ],
    outputs: { pctr: ctr, pcvr: { kind: 'ratio', num: ctcvr, den: ctr }, pctcvr: ctcvr },
  };
}
