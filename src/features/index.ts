/** Feature preparation: FeatureSpec (fit once, save with the model) and encoded-row helpers. */
export { FeatureSpec, FeatureFitter, FEATURE_SPEC_VERSION } from './spec.js';
export type { FeatureSpecJSON, FieldInfo, TransformOptions } from './spec.js';
export type { FeatureConfig, FieldConfig, NumericTransform } from './config.js';
export { validateFeatureConfig } from './config.js';
export { GroupInterner } from './groups.js';
export { OOV_ID } from './categorical-encoder.js';
export { fnv1a32 } from './hash.js';
export { sliceEncoded, takeEncodedRows, concatEncoded } from './encoded-rows.js';
