/**
 * The inputs of an exported ONNX model, derived from a model's FeatureLayout: one int64 id input
 * per single-valued categorical field, padded ids and weights per multi-valued field, and the
 * transformed numerics. Shared by the graph builder, the metadata and the feed helper.
 */
import type { FeatureLayout } from '../models/layout.js';

export interface ExportInput {
  /** ONNX input name. */
  name: string;
  kind: 'categorical' | 'multi_valued_ids' | 'multi_valued_weights' | 'numeric';
  /** Feature field it carries (numeric: the list of numeric fields, in column order). */
  field: string;
  dtype: 'int64' | 'float32';
  shape: (number | string)[];
  /** Id space of the field (ids 0..size-1; 0 is the out-of-vocabulary id). */
  size?: number;
}

export const NUMERIC_EXPORT_INPUT = 'numeric';

export function categoricalInputName(field: string): string {
  return `cat_${field}`;
}
export function multiIdsInputName(field: string): string {
  return `multi_${field}_ids`;
}
export function multiWeightsInputName(field: string): string {
  return `multi_${field}_weights`;
}

/** The exported model's inputs, in order. `numericFields` names the numeric columns. */
export function exportInputs(layout: FeatureLayout, numericFields: string[]): ExportInput[] {
  const out: ExportInput[] = [];
  for (const f of layout.categorical) {
    out.push({ name: categoricalInputName(f.name), kind: 'categorical', field: f.name, dtype: 'int64', shape: ['batch'], size: f.size });
  }
  for (const f of layout.multiValued) {
    const len = `len_${f.name}`;
    out.push({ name: multiIdsInputName(f.name), kind: 'multi_valued_ids', field: f.name, dtype: 'int64', shape: ['batch', len], size: f.size });
    out.push({ name: multiWeightsInputName(f.name), kind: 'multi_valued_weights', field: f.name, dtype: 'float32', shape: ['batch', len] });
  }
  if (layout.numericDim > 0) {
    out.push({ name: NUMERIC_EXPORT_INPUT, kind: 'numeric', field: numericFields.join(','), dtype: 'float32', shape: ['batch', layout.numericDim] });
  }
  return out;
}
