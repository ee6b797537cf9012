import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { EsmmConfig } from '../config/types.js';
import { FeatureSpec } from '../features/spec.js';
import { EmbeddingTable } from '../embedding/table.js';
import { writeDirAtomic } from '../util/atomic.js';
import { EmbeddingSet } from './embeddings.js';
import type { FeatureLayout } from './layout.js';
import { FunnelModel } from './model.js';
import { funnelSpec } from './registry.js';

/** Bumped when the model directory layout changes incompatibly. */
export const MODEL_FORMAT_VERSION = 1;
const MANIFEST = 'model.json';

interface Manifest {
  format: 'esmm-model';
  version: number;
  created: string;
  config: Omit<EsmmConfig, 'baseDir' | 'source'> & { source: string };
  layout: FeatureLayout;
  params: { name: string; length: number; offset: number }[];
  tables: { group: string; index: number; meta: Record<string, unknown>; buffers: Record<string, string> }[];
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
    const params: Manifest['params'] = [];
    let total = 0;
    for (const [name, v] of model.params) {
      params.push({ name, length: v.length, offset: total });
      total += v.length;
    }
    const flat = new Float32Array(total);
    for (const p of params) flat.set(model.params.get(p.name)!, p.offset);
    put('params.bin', new Uint8Array(flat.buffer));
    const tables: Manifest['tables'] = [];
    for (const [group, ts] of model.embeddings.tables) {
      ts.forEach((t, index) => {
        const saved = t.save();
        const buffers: Record<string, string> = {};
        for (const [k, b] of Object.entries(saved.buffers)) {
          const file = `emb/${group}.${index}.${k}.bin`;
          put(file, b);
          buffers[k] = file;
        }
        tables.push({ group, index, meta: saved.meta, buffers });
      });
    }
    put('model.onnx', model.inferenceOnnx({ esmm_model: model.spec.name }));
    for (const [name, text] of Object.entries(extraFiles)) put(name, text);
    const { baseDir: _b, ...config } = model.config;
    const manifest: Manifest = {
      format: 'esmm-model', version: MODEL_FORMAT_VERSION, created: new Date().toISOString(),
      config, layout: model.layout, params, tables, checksums,
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
  const read = (name: string): Buffer => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new UserError('model file is missing', { file: path });
    const data = readFileSync(path);
    if (manifest.checksums[name] !== undefined && sha256(data) !== manifest.checksums[name]) {
      throw new UserError('checksum mismatch: the model file is corrupted', { file: path });
    }
    return data;
  };
  const features = FeatureSpec.fromJSON(JSON.parse(read('features.json').toString('utf8')));
  const flatBytes = read('params.bin');
  const flat = new Float32Array(flatBytes.buffer.slice(flatBytes.byteOffset, flatBytes.byteOffset + flatBytes.byteLength));
  const params = new Map(manifest.params.map((p) => [p.name, flat.slice(p.offset, p.offset + p.length)]));
  const tables = new Map<string, EmbeddingTable[]>();
  for (const t of manifest.tables) {
    const buffers = Object.fromEntries(Object.entries(t.buffers).map(([k, file]) => {
      const b = read(file);
      return [k, new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))];
    }));
    const list = tables.get(t.group) ?? [];
    list[t.index] = EmbeddingTable.load({ meta: t.meta, buffers });
    tables.set(t.group, list);
  }
  const config: EsmmConfig = { ...manifest.config, baseDir: dir };
  const spec = funnelSpec(config.model.name, config.schema);
  const embeddings = new EmbeddingSet(manifest.layout, config.model.multi_valued_pooling, tables);
  return new FunnelModel(config, spec, manifest.layout, features, params, embeddings);
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
