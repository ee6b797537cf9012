import type { EncodedChunk } from '../data/batch.js';
import type { TrainConfig } from '../config/types.js';
import { evaluatePredictions, type FlatMetrics } from '../eval/evaluate.js';
import type { FunnelModel } from '../models/model.js';

/** Metrics of the model on the validation split after an epoch; none without one or with train.validate: false. */
export async function validateEpoch(model: FunnelModel, valid: EncodedChunk | undefined, tc: TrainConfig): Promise<FlatMetrics | undefined> {
  if (valid === undefined || valid.rows === 0 || tc.validate === false) return undefined;
  return evaluatePredictions(valid, await model.predictEncoded(valid));
}
