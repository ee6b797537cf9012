/**
 * The inputs of an exported ONNX model, derived from a model's FeatureLayout: one int64 id input
 * per single-valued categorical field, padded ids and weights per multi-valued field (sequence ids
 * and a mask of fixed length max_len for an attention-pooled one), and the transformed numerics. Shared by the graph builder, the metadata and the feed helper.
 */
import type { FeatureLayout } from '../models/layout.js';

export interface ExportInput {
  /** ONNX input name. */
  name: string;
  kind: 'categorical' | 'multi_valued_ids' | 'multi_valued_weights' | 'sequence_ids' | 'sequence_mask' | 'numeric';
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
/** Ids [batch, max_len] of an attention-pooled field: each row's last max_len items, first to last from position 0. */
export function sequenceIdsInputName(field: string): string {
  return `seq_${field}_ids`;
}
/** Mask [batch, max_len] of an attention-pooled field: the item's weight (1 without weights), 0 at padding. */
export function sequenceMaskInputName(field: string): string {
  return `seq_${field}_mask`;
}

/**
 * The exported model's inputs, in order. `numericFields` names the numeric columns; `sequences`
 * maps each attention-pooled multi-valued field to its max_len (such a field takes sequence ids
 * and a mask [batch, max_len] instead of padded ids and weights).
 */
export function exportInputs(layout: FeatureLayout, numericFields: string[], sequences: Record<string, number> = {}): ExportInput[] {
  const out: ExportInput[] = [];
  for (const f of layout.categorical) {
    out.push({ name: categoricalInputName(f.name), kind: 'categorical', field: f.name, dtype: 'int64', shape: ['batch'], size: f.size });
  }
  for (const f of layout.multiValued) {
    const maxLen = sequences[f.name];
    if (maxLen !== undefined) {
      out.push({ name: sequenceIdsInputName(f.name), kind: 'sequence_ids', field: f.name, dtype: 'int64', shape: ['batch', maxLen], size: f.size });
      out.push({ name: sequenceMaskInputName(f.name), kind: 'sequence_mask', field: f.name, dtype: 'float32', shape: ['batch', maxLen] });
      continue;
    }
    const len = `len_${f.name}`;
    out.push({ name: multiIdsInputName(f.name), kind: 'multi_valued_ids', field: f.name, dtype: 'int64', shape: ['batch', len], size: f.size });
    out.push({ name: multiWeightsInputName(f.name), kind: 'multi_valued_weights', field: f.name, dtype: 'float32', shape: ['batch', len] });
  }
  if (layout.numericDim > 0) {
    out.push({ name: NUMERIC_EXPORT_INPUT, kind: 'numeric', field: numericFields.join(','), dtype: 'float32', shape: ['batch', layout.numericDim] });
  }
  return out;
}
