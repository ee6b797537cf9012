import type { FeatureSpec } from '../features/spec.js';
import type { FeatureLayout } from './layout.js';

/** The model input layout implied by a fitted FeatureSpec. */
export function layoutOf(features: FeatureSpec, dim: number): FeatureLayout {
  return {
    dim,
    categorical: features.categoricalFields.map((f) => ({ name: f.name, size: f.size })),
    multiValued: features.multiValuedFields.map((f) => ({ name: f.name, size: f.size })),
    numericDim: features.numericFields.length,
  };
}
