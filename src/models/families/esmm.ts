import { product, tower } from '../funnel.js';
import type { FunnelModelSpec } from '../funnel-spec.js';

/**
 * ESMM (Ma et al., SIGIR 2018), eq. (2)-(3): pCTCVR = pCTR x pCVR and
 * L = sum_i l(y_i, pCTR_i) + sum_i l(y_i & z_i, pCTR_i x pCVR_i), both over all impressions.
 * pCVR has no loss of its own. `shared = false` is the paper's ESMM-NS ablation.
 */
export function esmm(shared: boolean): FunnelModelSpec {
  const ctr = tower('ctr');
  const cvr = tower('cvr');
  const ctcvr = product(ctr, cvr);
  return {
    name: shared ? 'esmm' : 'esmm_ns',
    description: shared ? 'ESMM: shared embeddings, pCTCVR = pCTR x pCVR' : 'ESMM-NS: ESMM without shared embeddings',
    towers: [
      { name: 'ctr', predicts: 'p(click | impression)', embeddings: shared ? 'shared' : 'ctr' },
      { name: 'cvr', predicts: 'p(buy | click)', embeddings: shared ? 'shared' : 'cvr' },
    ],
    losses: [
      { name: 'ctr', prob: ctr, label: 'click', space: 'impressions' },
      { name: 'ctcvr', prob: ctcvr, label: 'buy', space: 'impressions' },
    ],
    outputs: { pctr: ctr, pcvr: cvr, pctcvr: ctcvr },
  };
}
