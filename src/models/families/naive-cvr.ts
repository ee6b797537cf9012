import { product, tower } from '../funnel.js';
import type { FunnelModelSpec } from '../funnel-spec.js';

/**
 * The papers' BASE: a CTR model on all impressions and a CVR model trained on clicked rows only
 * (separate embeddings, i.e. two independent models trained in one pass); pCTCVR = pCTR x pCVR.
 */
export function naiveCvr(): FunnelModelSpec {
  const ctr = tower('ctr');
  const cvr = tower('cvr');
  return {
    name: 'naive_cvr',
    description: 'BASE: CVR trained on clicked rows only (sample selection bias)',
    towers: [
      { name: 'ctr', predicts: 'p(click | impression)', embeddings: 'ctr' },
      { name: 'cvr', predicts: 'p(buy | click), fit on clicks', embeddings: 'cvr' },
    ],
    losses: [
      { name: 'ctr', prob: ctr, label: 'click', space: 'impressions' },
      { name: 'cvr', prob: cvr, label: 'buy', space: 'clicked' },
    ],
    outputs: { pctr: ctr, pcvr: cvr, pctcvr: product(ctr, cvr) },
  };
}
