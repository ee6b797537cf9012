/**
 * The shape of a model's input, derived from a fitted FeatureSpec: which embedding tables exist
 * and how wide the gathered-embedding input of each embedding group is.
 */
export interface FieldInfo {
  name: string;
  /** Id space of the field (vocabulary size including OOV, or hash buckets). */
  size: number;
}

export interface FeatureLayout {
  /** Embedding dimension of every field. */
  dim: number;
  categorical: FieldInfo[];
  multiValued: FieldInfo[];
  numericDim: number;
}

/** Number of embedded fields (single- plus multi-valued). */
export function embeddedFieldCount(l: FeatureLayout): number {
  return l.categorical.length + l.multiValued.length;
}

/** Width of one embedding group's gathered input: one dim-sized slot per field. */
export function embeddingWidth(l: FeatureLayout): number {
  return embeddedFieldCount(l) * l.dim;
}
