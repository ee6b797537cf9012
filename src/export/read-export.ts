/**
 * Reading back an ONNX file written by `esmm export`: its metadata and the FeatureSpec that maps
 * raw values to the ids it takes, embedded (the default) or in the side file of a split export.
 * The spec's sha256 recorded in the ONNX metadata must match, so a side file from another export
 * (or a pair left half-published by a crash) is refused instead of silently mis-encoding inputs.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import onnxpkg from 'onnx-proto';
import { UserError } from '../errors.js';
import { FeatureSpec, type FeatureSpecJSON } from '../features/spec.js';

const { onnx } = onnxpkg;

export interface ExportedModel {
  metadata: Record<string, string>;
  featureSpec: FeatureSpec;
  /** The side file the spec came from; undefined when embedded. */
  featureSpecFile?: string;
}

export function readExport(path: string): ExportedModel {
  if (!existsSync(path)) throw new UserError('no such exported model file', { file: path });
  let metadata: Record<string, string>;
  try {
    const m = onnx.ModelProto.decode(readFileSync(path));
    metadata = Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  } catch {
    throw new UserError('is not a readable ONNX file (truncated or corrupted?)', { file: path });
  }
  const want = metadata.esmm_feature_spec_sha256;
  if (metadata.esmm_export_version === undefined || want === undefined) throw new UserError('is not an ONNX file written by esmm export (no esmm metadata)', { file: path });
  let text = metadata.esmm_feature_spec;
  let file: string | undefined;
  if (text === undefined) {
    const name = metadata.esmm_feature_spec_file ?? '';
    if (name === '' || basename(name) !== name || name === '..') throw new UserError(`names an invalid feature spec file ${JSON.stringify(name)}`, { file: path });
    file = join(dirname(path), name);
    if (!existsSync(file)) throw new UserError(`its feature spec file ${name} is missing; export again (the default export embeds it)`, { file: path });
    text = readFileSync(file, 'utf8');
  }
  if (createHash('sha256').update(text).digest('hex') !== want) {
    throw new UserError(`the feature spec does not belong to this ONNX file (sha256 differs: ${file !== undefined ? 'a file from another export, or a half-finished one' : 'corrupted metadata'}); export again`, { file: file ?? path });
  }
  let json: FeatureSpecJSON;
  try {
    json = JSON.parse(text) as FeatureSpecJSON;
  } catch {
    throw new UserError('feature spec is not valid JSON', { file: file ?? path });
  }
  return { metadata, featureSpec: FeatureSpec.fromJSON(json), ...(file !== undefined ? { featureSpecFile: file } : {}) };
}
