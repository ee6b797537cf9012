import { fmInteraction } from '../blocks/fm.js';
import { mlpTower } from './mlp-tower.js';
import type { Tower } from './types.js';

/**
 * DeepFM-style tower (Guo et al., IJCAI'17, eq. 2-4): the MLP over the bottom's output plus the
 * FM second-order term over the field embeddings, added to the logit. The first-order term is the
 * head's linear part.
 */
export const fmTower: Tower = (args) => ({
  ...mlpTower(args),
  logitTerm: fmInteraction(args.ctx.g, args.fields),
});
