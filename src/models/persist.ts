import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { EsmmConfig } from '../config/types.js';
import { FeatureSpec } from '../features/spec.js';
import { writeDirAtomic } from '../util/atomic.js';
import { EmbeddingSet } from './embeddings.js';
import type { FeatureLayout } from './layout.js';
import { FunnelModel } from './model.js';
import { funnelSpec } from './registry.js';
import { checkCalibration } from './calibration/calibrator.js';
import { packFloats, readTables, unpackFloats, writeTables, type TableEntry } from './table-files.js';

/** Bumped when the model directory layout changes incompatibly. */
export const MODEL_FORMAT_VERSION = 1;
const MANIFEST = 'model.json';
const CALIBRATION_FILE = 'calibration.json';

interface Manifest {
  format: 'esmm-model';
  version: number;
  created: string;
  config: Omit<EsmmConfig, 'baseDir' | 'source'> & { source: string };
  layout: FeatureLayout;
  params: { name: string; length: number; offset: number }[];
  tables: TableEntry[];
  /** File holding the post-hoc calibration (train.calibration), when the model has one. */
  calibration?: string;
  /** sha256 of every other file in the directory. */
  checksums: Record<string, string>;
}

/**
 * Save a model to DIR: model.json (manifest, config, checksums), features.json (FeatureSpec),
 * params.bin (dense parameters), emb/*.bin (embedding tables incl. optimizer state), and
 * model.onnx (the forward graph with parameters baked in). Written to a temp dir and swapped in.
 */
export async function saveModel(model: FunnelModel, dir: string, extraFiles: Record<string, string> = {}): Promise<void> {
  await writeDirAtomic(dir, (tmp) => {
    const checksums: Record<string, string> = {};
    const put = (name: string, data: string | Uint8Array): void => {
      const path = join(tmp, name);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, data);
      checksums[name] = sha256(data);
    };
    put('features.json', JSON.stringify(model.features.toJSON()));
    const packed = packFloats(model.params);
    put('params.bin', packed.bytes);
    const tables = writeTables(model.embeddings.tables, put);
    put('model.onnx', model.inferenceOnnx({ esmm_model: model.spec.name }));
    const calibration = model.calibration === undefined ? undefined : CALIBRATION_FILE;
    if (model.calibration !== undefined) put(CALIBRATION_FILE, JSON.stringify(model.calibration));
    for (const [name, text] of Object.entries(extraFiles)) put(name, text);
    const { baseDir: _b, ...config } = model.config;
    const manifest: Manifest = {
      format: 'esmm-model', version: MODEL_FORMAT_VERSION, created: new Date().toISOString(),
      config, layout: model.layout, params: packed.index, tables, ...(calibration !== undefined ? { calibration } : {}), checksums,
    };
    writeFileSync(join(tmp, MANIFEST), JSON.stringify(manifest, null, 1));
  });
}

/** Load a model saved by saveModel, verifying its version and every file's checksum. */
export async function loadModel(dir: string): Promise<FunnelModel> {
  const manifestPath = join(dir, MANIFEST);
  if (!existsSync(manifestPath)) throw new UserError(`not a model directory (no ${MANIFEST})`, { file: dir });
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch {
    throw new UserError('model manifest is not valid JSON (corrupted file?)', { file: manifestPath });
  }
  if (manifest.format !== 'esmm-model') throw new UserError('not an esmm model manifest', { file: manifestPath });
  if (manifest.version !== MODEL_FORMAT_VERSION) {
    throw new UserError(`model format version ${manifest.version} is not supported by this esmm (expects ${MODEL_FORMAT_VERSION}); retrain or use a matching esmm`, { file: manifestPath });
  }
  const read = (name: string): Uint8Array => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new UserError('model file is missing', { file: path });
    const data = readFileSync(path);
    if (manifest.checksums[name] !== undefined && sha256(data) !== manifest.checksums[name]) {
      throw new UserError('checksum mismatch: the model file is corrupted', { file: path });
    }
    return data;
  };
  const features = FeatureSpec.fromJSON(JSON.parse(Buffer.from(read('features.json')).toString('utf8')));
  const params = unpackFloats(read('params.bin'), manifest.params);
  const tables = readTables(manifest.tables, read);
  const config: EsmmConfig = { ...manifest.config, baseDir: dir };
  const spec = funnelSpec(config.model.name, config.schema);
  const embeddings = new EmbeddingSet(manifest.layout, config.model.multi_valued_pooling, tables, config.model.pooling);
  const model = new FunnelModel(config, spec, manifest.layout, features, params, embeddings);
  if (manifest.calibration !== undefined) {
    const path = join(dir, manifest.calibration);
    try {
      model.calibration = checkCalibration(JSON.parse(Buffer.from(read(manifest.calibration)).toString('utf8')), 'calibration');
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`bad calibration file: ${(e as Error).message}`, { file: path });
    }
  }
  return model;
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
