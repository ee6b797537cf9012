/**
 * The `features:` block of a config: how each field is encoded. Defaults: vocabulary with
 * min_count 1 for categorical and multi-valued fields, standardize_tanh for numerics.
 */
import { UserError } from '../errors.js';
import { featureColumns, type Schema } from '../data/schema.js';

export type NumericTransform = 'standardize_tanh' | 'quantile';

export interface FieldConfig {
  /** Values seen fewer times in training map to the OOV id. */
  min_count?: number;
  /** Hash into this many buckets instead of a vocabulary (0 forces a vocabulary). */
  hash_buckets?: number;
  /** Numeric fields only. */
  transform?: NumericTransform;
  /** Quantile buckets for a numeric field with transform 'quantile'. */
  buckets?: number;
}

export interface FeatureConfig {
  min_count?: number;
  /** Default for every categorical and multi-valued field: hash into N buckets. */
  hash_buckets?: number;
  fields?: Record<string, FieldConfig>;
  numeric_transform?: NumericTransform;
  quantile_buckets?: number;
}

export const DEFAULT_QUANTILE_BUCKETS = 10;

/** Resolved settings of one categorical or multi-valued field. */
export interface CategoricalSettings {
  minCount: number;
  /** 0: vocabulary. */
  hashBuckets: number;
}

export interface NumericSettings {
  transform: NumericTransform;
  buckets: number;
}

export function validateFeatureConfig(schema: Schema, cfg: FeatureConfig): void {
  const features = new Set(featureColumns(schema));
  const numeric = new Set(schema.numeric ?? []);
  checkInt(cfg.min_count, 1, 'features.min_count');
  checkInt(cfg.hash_buckets, 0, 'features.hash_buckets');
  checkInt(cfg.quantile_buckets, 2, 'features.quantile_buckets');
  checkTransform(cfg.numeric_transform, 'features.numeric_transform');
  for (const [name, f] of Object.entries(cfg.fields ?? {})) {
    const key = `features.fields.${name}`;
    if (!features.has(name)) throw new UserError('not a feature column of the schema', { key, column: name });
    checkInt(f.min_count, 1, `${key}.min_count`);
    checkInt(f.hash_buckets, 0, `${key}.hash_buckets`);
    checkInt(f.buckets, 2, `${key}.buckets`);
    checkTransform(f.transform, `${key}.transform`);
    if (numeric.has(name) && (f.min_count !== undefined || f.hash_buckets !== undefined)) {
      throw new UserError('min_count and hash_buckets apply to categorical fields, not numeric ones', { key, column: name });
    }
    if (!numeric.has(name) && (f.transform !== undefined || f.buckets !== undefined)) {
      throw new UserError('transform and buckets apply to numeric fields only', { key, column: name });
    }
  }
}

export function categoricalSettings(cfg: FeatureConfig, name: string): CategoricalSettings {
  const f = cfg.fields?.[name] ?? {};
  return { minCount: f.min_count ?? cfg.min_count ?? 1, hashBuckets: f.hash_buckets ?? cfg.hash_buckets ?? 0 };
}

export function numericSettings(cfg: FeatureConfig, name: string): NumericSettings {
  const f = cfg.fields?.[name] ?? {};
  return {
    transform: f.transform ?? cfg.numeric_transform ?? 'standardize_tanh',
    buckets: f.buckets ?? cfg.quantile_buckets ?? DEFAULT_QUANTILE_BUCKETS,
  };
}

function checkInt(v: number | undefined, min: number, key: string): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min)) {
    throw new UserError(`must be an integer >= ${min}, got ${JSON.stringify(v)}`, { key });
  }
}

function checkTransform(v: string | undefined, key: string): void {
  if (v !== undefined && v !== 'standardize_tanh' && v !== 'quantile') {
    throw new UserError(`must be 'standardize_tanh' or 'quantile', got ${JSON.stringify(v)}`, { key });
  }
}
