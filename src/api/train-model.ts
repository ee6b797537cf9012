import type { EsmmConfig } from '../config/types.js';
import { trainFunnel, type TrainOptions, type TrainResult } from '../train/trainer.js';
import type { PreparedFeatures } from './prepare-features.js';

/**
 * Train the configured model on prepared features (validation on the valid split when present).
 * The returned model predicts pCTR, pCVR and pCTCVR for every row.
 */
export function trainModel(config: EsmmConfig, features: PreparedFeatures, opts: TrainOptions = {}): Promise<TrainResult> {
  return trainFunnel(config, features.spec, features.train, features.valid, opts);
}
