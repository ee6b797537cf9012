import type { EncodedChunk, RawChunk } from '../data/batch.js';
import { evaluatePredictions, type FlatMetrics } from '../eval/evaluate.js';
import type { FunnelModel } from '../models/model.js';

function isEncoded(d: EncodedChunk | RawChunk): d is EncodedChunk {
  return !('file' in d);
}

/** Predict and score a split: AUC/GAUC/logloss/calibration per task, each on a named space. */
export async function evaluateModel(model: FunnelModel, data: EncodedChunk | RawChunk): Promise<FlatMetrics> {
  const encoded = isEncoded(data) ? data : model.features.transform(data);
  return evaluatePredictions(encoded, await model.predictEncoded(encoded));
}
