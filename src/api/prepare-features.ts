import type { EncodedChunk } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import type { FeaturesConfig } from '../config/types.js';
import { FeatureSpec } from '../features/spec.js';
import type { LoadedData } from './load-data.js';

/** Encoded splits and the FeatureSpec fitted on the training split. */
export interface PreparedFeatures {
  spec: FeatureSpec;
  train: EncodedChunk;
  valid?: EncodedChunk;
  test?: EncodedChunk;
  /** Unseen categorical values mapped to the OOV id, per split and field. */
  oov: { valid?: Record<string, number>; test?: Record<string, number> };
}

/** Fit the FeatureSpec on the training rows only, then encode every split with it. */
export function prepareFeatures(schema: Schema, data: LoadedData, cfg: FeaturesConfig = {}): PreparedFeatures {
  const spec = FeatureSpec.fit(schema, data.train, cfg);
  const out: PreparedFeatures = { spec, train: spec.transform(data.train), oov: {} };
  for (const split of ['valid', 'test'] as const) {
    const raw = data[split];
    if (raw === undefined) continue;
    const stats = { oov: {} as Record<string, number> };
    out[split] = spec.transform(raw, stats);
    out.oov[split] = stats.oov;
  }
  return out;
}
