import { product, tower } from '../funnel.js';
import type { FunnelModelSpec, RegularizerDecl } from '../funnel-spec.js';

/**
 * ESCM2 (Wang et al., SIGIR'22): ESMM (losses ctr and ctcvr over all impressions) plus a
 * counterfactual risk on the CVR tower with pCTR as the propensity: `ipw` (eq. 8) or `dr`
 * (eq. 9-10, with an imputation tower predicting the CVR error). The regulariser's weight is
 * model.loss_weights.cvr_ipw / cvr_dr (lambda in the paper, default 1).
 */
export function escm2(variant: 'ipw' | 'dr'): FunnelModelSpec {
  const ctr = tower('ctr');
  const cvr = tower('cvr');
  const ctcvr = product(ctr, cvr);
  const reg: RegularizerDecl = variant === 'ipw'
    ? { kind: 'ipw', name: 'cvr_ipw', cvr, propensity: ctr }
    : { kind: 'dr', name: 'cvr_dr', cvr, propensity: ctr, imputationTower: 'imputation', imputationLoss: 'imputation' };
  return {
    name: `escm2_${variant}`,
    description: `ESCM2-${variant.toUpperCase()}: ESMM + counterfactual CVR risk (propensity pCTR)`,
    towers: [
      { name: 'ctr', predicts: 'p(click | impression)', embeddings: 'shared' },
      { name: 'cvr', predicts: 'p(buy | click)', embeddings: 'shared' },
      ...(variant === 'dr' ? [{ name: 'imputation', predicts: 'imputed CVR error (softplus)', embeddings: 'shared' }] : []),
    ],
    losses: [
      { name: 'ctr', prob: ctr, label: 'click', space: 'impressions' },
      { name: 'ctcvr', prob: ctcvr, label: 'buy', space: 'impressions' },
    ],
    regularizers: [reg],
    outputs: { pctr: ctr, pcvr: cvr, pctcvr: ctcvr },
  };
}
