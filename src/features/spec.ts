/**
 * FeatureSpec: how raw columns become ids and numbers. Fitted once on training data, saved as
 * JSON with the model, and applied unchanged to validation, test and predict data.
 *
 *   const spec = FeatureSpec.fit(schema, trainChunk, cfg);
 *   const groups = new GroupInterner();             // one per dataset, for GAUC
 *   const stats = { oov: {} };
 *   const enc = spec.transform(chunk, { oov: stats.oov, groups });
 *
 * EncodedChunk.categorical holds the schema's categorical fields, then the numeric fields
 * bucketised by 'quantile'; categoricalFields describes them in that order. numericFields lists
 * the standardize_tanh numerics, the columns of EncodedChunk.numeric (row-major).
 */
import { UserError } from '../errors.js';
import type { EncodedChunk, MultiIds, RawChunk } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import { validateSchema } from '../data/validate-schema.js';
import {
  encodeColumn,
  encoderFromJSON,
  HashEncoder,
  OOV_ID,
  VocabularyEncoder,
  type CategoricalEncoder,
  type CategoricalEncoderJSON,
} from './categorical-encoder.js';
import { categoricalSettings, numericSettings, validateFeatureConfig, type FeatureConfig } from './config.js';
import { GroupInterner } from './groups.js';
import { encodeLabels } from './labels.js';
import { encodeMultiColumn, forEachItem } from './multi-valued.js';
import {
  bucketize,
  fitQuantileCuts,
  MomentsAccumulator,
  quantileSize,
  standardizeTanh,
  type QuantileJSON,
  type StandardizeJSON,
} from './numeric.js';

export const FEATURE_SPEC_VERSION = 1;

export interface FieldInfo {
  name: string;
  /** Number of ids, OOV included: an embedding table for this field needs `size` rows. */
  size: number;
  oovId: number;
  encoding: 'vocabulary' | 'hash' | 'quantile';
}

export interface FeatureSpecJSON {
  version: number;
  schema: Schema;
  config: FeatureConfig;
  categorical: ({ name: string } & CategoricalEncoderJSON)[];
  multiValued: ({ name: string } & CategoricalEncoderJSON)[];
  /** Numeric fields in schema order, each standardised or bucketised. */
  numeric: ({ name: string } & (StandardizeJSON | QuantileJSON))[];
}

export interface TransformOptions {
  /** Unseen values per field are added here (field name -> count). */
  oov?: Record<string, number>;
  /** Group interner of the dataset (default: a fresh one, so ids are only chunk-consistent). */
  groups?: GroupInterner;
}

export class FeatureSpec {
  readonly categoricalFields: FieldInfo[];
  readonly multiValuedFields: FieldInfo[];
  /** Columns of EncodedChunk.numeric, in order. */
  readonly numericFields: string[];

  private constructor(
    readonly schema: Schema,
    readonly config: FeatureConfig,
    private readonly categorical: CategoricalEncoder[],
    private readonly multiValued: CategoricalEncoder[],
    private readonly numeric: ({ name: string } & (StandardizeJSON | QuantileJSON))[],
  ) {
    const quantiles = numeric.filter((n): n is { name: string } & QuantileJSON => n.transform === 'quantile');
    this.categoricalFields = [
      ...schema.categorical.map((name, i) => info(name, categorical[i]!)),
      ...quantiles.map((q) => ({ name: q.name, size: quantileSize(q), oovId: OOV_ID, encoding: 'quantile' as const })),
    ];
    this.multiValuedFields = (schema.multi_valued ?? []).map((m, i) => info(m.name, multiValued[i]!));
    this.numericFields = numeric.filter((n) => n.transform === 'standardize_tanh').map((n) => n.name);
  }

  /** Fits on all rows of `data` (one chunk or several). */
  static fit(schema: Schema, data: RawChunk | RawChunk[], cfg: FeatureConfig = {}): FeatureSpec {
    const fitter = new FeatureFitter(schema, cfg);
    for (const chunk of Array.isArray(data) ? data : [data]) fitter.add(chunk);
    return fitter.finish();
  }

  /** Fits on a stream of chunks (e.g. readChunks), without holding the raw data. */
  static async fitStream(schema: Schema, chunks: AsyncIterable<RawChunk>, cfg: FeatureConfig = {}): Promise<FeatureSpec> {
    const fitter = new FeatureFitter(schema, cfg);
    for await (const chunk of chunks) fitter.add(chunk);
    return fitter.finish();
  }

  /** @internal Used by FeatureFitter. */
  static build(
    schema: Schema,
    cfg: FeatureConfig,
    categorical: CategoricalEncoder[],
    multiValued: CategoricalEncoder[],
    numeric: ({ name: string } & (StandardizeJSON | QuantileJSON))[],
  ): FeatureSpec {
    return new FeatureSpec(schema, cfg, categorical, multiValued, numeric);
  }

  transform(chunk: RawChunk, opts: TransformOptions = {}): EncodedChunk {
    const n = chunk.rows;
    const column = <V>(m: Map<string, V>, name: string): V => {
      const v = m.get(name);
      if (v === undefined) throw new UserError('column missing from the data', { file: chunk.file, column: name });
      return v;
    };
    const countOov = (name: string, unseen: number) => {
      if (opts.oov !== undefined && unseen > 0) opts.oov[name] = (opts.oov[name] ?? 0) + unseen;
    };

    const categorical: Int32Array[] = this.schema.categorical.map((name, i) => {
      const ids = new Int32Array(n);
      countOov(name, encodeColumn(this.categorical[i]!, column(chunk.categorical, name), ids));
      return ids;
    });
    const stride = this.numericFields.length;
    const numeric = new Float32Array(n * stride);
    let at = 0;
    for (const f of this.numeric) {
      const values = column(chunk.numeric, f.name);
      if (f.transform === 'quantile') {
        const ids = new Int32Array(n);
        bucketize(f, values, ids);
        categorical.push(ids);
      } else {
        standardizeTanh(f, values, numeric, stride, at++);
      }
    }
    const multiValued: MultiIds[] = (this.schema.multi_valued ?? []).map((m, i) => {
      const { ids, unseen } = encodeMultiColumn(column(chunk.multiValued, m.name), m, this.multiValued[i]!, chunk.file, chunk.firstRow);
      countOov(m.name, unseen);
      return ids;
    });

    const out: EncodedChunk = {
      rows: n,
      categorical,
      multiValued,
      numeric,
      labels: encodeLabels(chunk, this.schema.labels),
      truth: new Map([...chunk.truth].map(([name, v]) => [name, Float32Array.from(v)])),
    };
    if (this.schema.group !== undefined) {
      if (chunk.group === undefined) throw new UserError('group column missing from the data', { file: chunk.file, column: this.schema.group });
      out.group = (opts.groups ?? new GroupInterner()).intern(chunk.group);
    }
    return out;
  }

  /**
   * Per row, the single-valued categorical fields whose value was not seen at fit time (so the
   * model scored it with the shared OOV embedding). The server reports these to the caller.
   */
  unseenFields(chunk: RawChunk): string[][] {
    const out: string[][] = Array.from({ length: chunk.rows }, () => []);
    this.schema.categorical.forEach((name, i) => {
      const values = chunk.categorical.get(name);
      const encoder = this.categorical[i]!;
      if (values === undefined) return;
      for (let r = 0; r < chunk.rows; r++) if (encoder.isUnseen(values[r]!)) out[r]!.push(name);
    });
    return out;
  }

  toJSON(): FeatureSpecJSON {
    return {
      version: FEATURE_SPEC_VERSION,
      schema: this.schema,
      config: this.config,
      categorical: this.schema.categorical.map((name, i) => ({ name, ...this.categorical[i]!.toJSON() })),
      multiValued: (this.schema.multi_valued ?? []).map((m, i) => ({ name: m.name, ...this.multiValued[i]!.toJSON() })),
      numeric: this.numeric,
    };
  }

  static fromJSON(j: FeatureSpecJSON): FeatureSpec {
    if (j === null || typeof j !== 'object' || j.version !== FEATURE_SPEC_VERSION) {
      throw new UserError(
        `unsupported feature spec version ${JSON.stringify((j as { version?: unknown } | null)?.version)} (this esmm reads version ${FEATURE_SPEC_VERSION})`,
        { key: 'version' },
      );
    }
    validateSchema(j.schema);
    const byName = <T extends { name: string }>(list: T[], names: string[], key: string): T[] =>
      names.map((name) => {
        const found = list.find((x) => x.name === name);
        if (found === undefined) throw new UserError('feature spec lacks a field its schema lists', { key, column: name });
        return found;
      });
    const categorical = byName(j.categorical, j.schema.categorical, 'categorical').map(encoderFromJSON);
    const multiValued = byName(j.multiValued, (j.schema.multi_valued ?? []).map((m) => m.name), 'multiValued').map(encoderFromJSON);
    const numeric = byName(j.numeric, j.schema.numeric ?? [], 'numeric');
    return new FeatureSpec(j.schema, j.config, categorical, multiValued, numeric);
  }
}

function info(name: string, e: CategoricalEncoder): FieldInfo {
  return { name, size: e.size, oovId: OOV_ID, encoding: e.encoding };
}

/** Accumulates what fitting needs, chunk by chunk. */
export class FeatureFitter {
  private readonly catCounts: (Map<string, number> | undefined)[];
  private readonly multiCounts: (Map<string, number> | undefined)[];
  private readonly moments: MomentsAccumulator[];
  private readonly quantileParts: Float64Array[][];
  private rows = 0;
  private file: string | undefined;

  constructor(
    private readonly schema: Schema,
    private readonly cfg: FeatureConfig,
  ) {
    validateSchema(schema);
    validateFeatureConfig(schema, cfg);
    const needsCounts = (name: string) => (categoricalSettings(cfg, name).hashBuckets > 0 ? undefined : new Map<string, number>());
    this.catCounts = schema.categorical.map(needsCounts);
    this.multiCounts = (schema.multi_valued ?? []).map((m) => needsCounts(m.name));
    this.moments = (schema.numeric ?? []).map(() => new MomentsAccumulator());
    this.quantileParts = (schema.numeric ?? []).map(() => []);
  }

  add(chunk: RawChunk): void {
    const need = <V>(m: Map<string, V>, name: string): V => {
      const v = m.get(name);
      if (v === undefined) throw new UserError('column missing from the data', { file: chunk.file, column: name });
      return v;
    };
    this.schema.categorical.forEach((name, i) => {
      const counts = this.catCounts[i];
      if (counts === undefined) return;
      for (const v of need(chunk.categorical, name)) counts.set(v, (counts.get(v) ?? 0) + 1);
    });
    (this.schema.multi_valued ?? []).forEach((m, i) => {
      const counts = this.multiCounts[i];
      const cells = need(chunk.multiValued, m.name);
      for (let r = 0; r < cells.length; r++) {
        // Parse even for hashed fields, so bad weights fail at fit time, naming the row.
        forEachItem(cells[r]!, m, (v) => counts?.set(v, (counts.get(v) ?? 0) + 1), () => ({ file: chunk.file, row: chunk.firstRow + r }));
      }
    });
    (this.schema.numeric ?? []).forEach((name, i) => {
      const values = need(chunk.numeric, name);
      if (numericSettings(this.cfg, name).transform === 'quantile') this.quantileParts[i]!.push(values);
      else this.moments[i]!.add(values);
    });
    this.rows += chunk.rows;
    this.file = chunk.file;
  }

  finish(): FeatureSpec {
    if (this.rows === 0) throw new UserError('cannot fit features on zero rows');
    const encoder = (name: string, counts: Map<string, number> | undefined): CategoricalEncoder => {
      const s = categoricalSettings(this.cfg, name);
      return counts === undefined ? new HashEncoder(s.hashBuckets) : VocabularyEncoder.fromCounts(counts, s.minCount);
    };
    const categorical = this.schema.categorical.map((name, i) => encoder(name, this.catCounts[i]));
    const multiValued = (this.schema.multi_valued ?? []).map((m, i) => encoder(m.name, this.multiCounts[i]));
    const numeric = (this.schema.numeric ?? []).map((name, i) => {
      const s = numericSettings(this.cfg, name);
      const fitted = s.transform === 'quantile' ? fitQuantileCuts(this.quantileParts[i]!, s.buckets) : this.moments[i]!.finish(name, this.file);
      return { name, ...fitted };
    });
    return FeatureSpec.build(this.schema, this.cfg, categorical, multiValued, numeric);
  }
}
