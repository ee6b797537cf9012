/**
 * `esmm export`: one self-contained ONNX file that scores feature ids. Inputs (see inputs.ts):
 * int64 ids per categorical field [batch], padded ids + weights per multi-valued field
 * [batch, L] (weight 0 = padding), for an attention-pooled field sequence ids + mask [batch,
 * max_len] (each row's last max_len items first to last from position 0, then id 0 / mask 0
 * padding), transformed numerics [batch, n]. Outputs: pctr, pcvr, pctcvr
 * (+ paction for ESM2), each [batch, 1]. Embedding tables and dense parameters are initializers.
 * metadata_props document the inputs and where the FeatureSpec (raw value -> id) lives.
 */
import { createHash } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { encodeModel } from '../graph/onnx.js';
import { buildModelGraph, type ModelGraph } from '../models/build-graph.js';
import type { FunnelModel } from '../models/model.js';
import { MODEL_FORMAT_VERSION } from '../models/persist.js';
import { embeddingGroups } from '../models/funnel-spec.js';
import { fsyncDir, removeStaleTemps, testPause, writeFileAtomic, writeFileDurable } from '../util/atomic.js';
import { buildGatherGraph } from './gather-graph.js';
import { exportInputs, type ExportInput } from './inputs.js';
import { spliceModels } from './splice.js';

/** Bumped when the exported model's inputs or metadata change incompatibly. */
export const EXPORT_FORMAT_VERSION = 1;
/** Protobuf messages are limited to 2 GiB; leave room for the dense parameters. */
const MAX_ONNX_BYTES = 1.9e9;

export interface ExportOptions {
  /** Put the FeatureSpec JSON into metadata_props (`esmm_feature_spec`) instead of a side file. */
  embedFeatureSpec?: boolean;
  /** Name of the side file holding the FeatureSpec (relative to the ONNX file), when not embedded. */
  featureSpecFile?: string;
}

export interface ExportResult {
  onnx: Uint8Array;
  inputs: ExportInput[];
  outputs: string[];
  /** FeatureSpec JSON text (to write next to the ONNX file unless embedded). */
  featureSpec: string;
  /** max_len per attention-pooled field (its sequence inputs' length; exportFeeds' `sequences`). */
  sequences: Record<string, number>;
  metadata: Record<string, string>;
}

export function exportOnnx(model: FunnelModel, opts: ExportOptions = {}): ExportResult {
  const groups = embeddingGroups(model.spec);
  const fields = [...model.layout.categorical, ...model.layout.multiValued];
  const tableBytes = groups.length * fields.reduce((s, f) => s + f.size, 0) * model.layout.dim * 4;
  if (tableBytes > MAX_ONNX_BYTES) {
    throw new UserError(
      `the embedding tables take ${(tableBytes / 1e9).toFixed(2)} GB, over the 2 GB a single ONNX (protobuf) file can hold; use hashing with fewer buckets or a higher min_count`,
      { key: 'features' },
    );
  }
  const pooling = model.config.model.multi_valued_pooling;
  const modes = model.layout.multiValued.map((f) => model.embeddings.modeOf(f.name));
  const mg = buildModelGraph(model.spec, model.layout, model.config.model, {
    training: false, seed: model.config.train.seed, ...(model.calibration !== undefined ? { calibration: model.calibration } : {}),
  });
  const sequences = sequencesOf(model, mg);
  const front = buildGatherGraph(model.layout, model.embeddings, groups, modes, sequences);
  const frontBytes = encodeModel(front.graph, { paramsAs: 'initializers' });
  const fed = new Set([
    ...mg.embInputs.map((e) => e.input),
    ...mg.seqInputs.flatMap((q) => [q.input, q.maskInput]),
    ...(mg.numericInput !== undefined ? [mg.numericInput] : []),
  ]);
  const unsupported = mg.graph.inputs().filter((v) => !fed.has(v.name) && !mg.labelInputs.some((l) => l.input === v.name) && !v.name.startsWith('mask/'));
  if (unsupported.length > 0) {
    throw new UserError(`export does not support this model's graph input(s) ${unsupported.map((v) => v.name).join(', ')} yet`, { key: 'model' });
  }
  const backBytes = encodeModel(mg.graph, { paramsAs: 'initializers', paramValues: model.params, outputs: mg.predictions });
  const inputs = exportInputs(model.layout, model.features.numericFields, sequences);
  const featureSpec = JSON.stringify(model.features.toJSON());
  const metadata: Record<string, string> = {
    esmm_export_version: String(EXPORT_FORMAT_VERSION),
    esmm_model_format_version: String(MODEL_FORMAT_VERSION),
    esmm_model: model.spec.name,
    esmm_model_description: model.spec.description,
    esmm_inputs: JSON.stringify(inputs),
    esmm_outputs: JSON.stringify(mg.predictions),
    ...(model.calibration !== undefined ? { esmm_calibration: model.calibration.method, esmm_calibration_form: model.calibration.form } : {}),
    esmm_multi_valued_pooling: pooling,
    ...(Object.keys(sequences).length > 0 ? { esmm_sequence_max_len: JSON.stringify(sequences) } : {}),
    ...(modes.some((m) => m !== pooling) ? { esmm_field_pooling: JSON.stringify(Object.fromEntries(model.layout.multiValued.map((f, m) => [f.name, modes[m]!]))) } : {}),
    esmm_oov_id: '0',
    esmm_feature_spec_sha256: createHash('sha256').update(featureSpec).digest('hex'),
    ...(opts.embedFeatureSpec === true
      ? { esmm_feature_spec: featureSpec }
      : { esmm_feature_spec_file: opts.featureSpecFile ?? 'features.json' }),
  };
  const onnx = spliceModels(frontBytes, backBytes, { prefix: 'gather/', metadata, docString: docString(model, inputs, mg.predictions, opts) });
  return { onnx, inputs, outputs: mg.predictions, featureSpec, sequences, metadata };
}

/** Name of the FeatureSpec side file of a split export written to `out`. */
export function featureSpecFileOf(out: string): string {
  return join(dirname(out), `${basename(out).replace(/\.onnx$/i, '')}.features.json`);
}

/**
 * Write the export to `out`: by default ONE self-contained file (the FeatureSpec in metadata_props
 * `esmm_feature_spec`), published atomically. With `splitFeatures` the FeatureSpec goes to
 * NAME.features.json beside it: both are written to temp files and fsynced, the spec is renamed
 * into place first and the ONNX file last, and the ONNX metadata names the spec's sha256 (checked
 * by readExport). A crash between the two renames leaves a new spec beside the previous ONNX file,
 * which readExport refuses as a mismatched pair; it never pairs a new ONNX file with an old spec.
 */
export function writeExport(model: FunnelModel, out: string, opts: { splitFeatures?: boolean; embedFeatureSpec?: boolean } = {}): { files: string[]; result: ExportResult } {
  const split = opts.splitFeatures === true || opts.embedFeatureSpec === false;
  const specPath = featureSpecFileOf(out);
  const result = exportOnnx(model, { embedFeatureSpec: !split, featureSpecFile: basename(specPath) });
  if (!split) {
    writeFileAtomic(out, result.onnx);
    return { files: [out], result };
  }
  const dir = dirname(out);
  removeStaleTemps(dir);
  const tmpSpec = join(dir, `.${basename(specPath)}.${process.pid}.tmp`);
  const tmpOnnx = join(dir, `.${basename(out)}.${process.pid}.tmp`);
  try {
    writeFileDurable(tmpSpec, result.featureSpec);
    writeFileDurable(tmpOnnx, result.onnx);
    renameSync(tmpSpec, specPath);
    fsyncDir(dir);
    testPause('export:between');
    renameSync(tmpOnnx, out);
    fsyncDir(dir);
  } finally {
    rmSync(tmpSpec, { force: true });
    rmSync(tmpOnnx, { force: true });
  }
  return { files: [out, specPath], result };
}

function docString(model: FunnelModel, inputs: ExportInput[], outputs: string[], opts: ExportOptions): string {
  const where = opts.embedFeatureSpec === true ? "metadata_props['esmm_feature_spec']" : `the file ${opts.featureSpecFile ?? 'features.json'} next to this model`;
  return [
    `esmm ${model.spec.name}: ${model.spec.description}.`,
    `Inputs are feature ids after the FeatureSpec in ${where} (vocabulary or hashing per field; id 0 = out of vocabulary; ids outside 0..size-1 read as 0).`,
    ...inputs.map((i) => `  ${i.name} ${i.dtype}[${i.shape.join(', ')}]: ${describe(i)}`),
    `Multi-valued fields are pooled by ${poolingText(model)} over weights (pad with id 0, weight 0).`,
    ...(inputs.some((i) => i.kind === 'sequence_ids')
      ? [
          'Attention-pooled fields (seq_<field>_ids / seq_<field>_mask, [batch, max_len]): put each row\'s LAST max_len items (the most recent, lists being oldest first) ' +
            'in their order from position 0, then pad with id 0 and mask 0; the mask of an item is its weight (1 without weights).',
        ]
      : []),
    `Outputs (float32 [batch, 1]): ${outputs.join(', ')}.`,
  ].join('\n');
}

/**
 * max_len per attention-pooled field (model.pooling.FIELD: attention), from the forward graph's
 * sequence inputs: the length of the field's sequence ids and mask inputs.
 */
export function exportSequences(model: FunnelModel): Record<string, number> {
  return sequencesOf(model, buildModelGraph(model.spec, model.layout, model.config.model, { training: false, seed: model.config.train.seed }));
}

function sequencesOf(model: FunnelModel, mg: ModelGraph): Record<string, number> {
  const out: Record<string, number> = {};
  for (const q of mg.seqInputs) out[q.field] = q.maxLen;
  for (const f of model.layout.multiValued) {
    if (model.embeddings.modeOf(f.name) === 'attention' && out[f.name] === undefined) throw new Error(`export: attention-pooled field '${f.name}' has no sequence input in the model graph`);
  }
  return out;
}

function poolingText(model: FunnelModel): string {
  const modes = model.layout.multiValued.map((f) => `${f.name}: ${model.embeddings.modeOf(f.name)}`);
  return Object.keys(model.config.model.pooling).length === 0 ? model.config.model.multi_valued_pooling : `field (${modes.join(', ')})`;
}

function describe(i: ExportInput): string {
  switch (i.kind) {
    case 'categorical':
      return `ids of field '${i.field}' (0..${i.size! - 1})`;
    case 'multi_valued_ids':
      return `padded ids of multi-valued field '${i.field}' (0..${i.size! - 1})`;
    case 'multi_valued_weights':
      return `weights of '${i.field}' items (1 without weights, 0 = padding)`;
    case 'sequence_ids':
      return `ids of attention-pooled field '${i.field}' (0..${i.size! - 1}): each row's last ${i.shape[1]} items, first to last from position 0, then id 0 padding`;
    case 'sequence_mask':
      return `mask of '${i.field}' sequence positions (the item's weight, 1 without weights; 0 = padding)`;
    case 'numeric':
      return `transformed numerics tanh((x - mean) / std), columns ${i.field}`;
  }
}
