import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { EsmmConfig } from '../config/types.js';
import { FeatureSpec, type FeatureSpecJSON } from '../features/spec.js';
import { confine, recoverDir, removeStaleTemps, writeDirAtomic } from '../util/atomic.js';
import { removeCheckpoint } from '../train/checkpoint.js';
import { buildModelGraph } from './build-graph.js';
import { EmbeddingSet } from './embeddings.js';
import type { FeatureLayout } from './layout.js';
import { FunnelModel } from './model.js';
import { funnelSpec } from './registry.js';
import { logitBases } from './funnel-spec.js';
import { checkCalibration } from './calibration/calibrator.js';
import { packFloats, readTables, unpackFloats, validateFloatIndex, validateTableEntries, writeTables, type TableEntry } from './table-files.js';

/**
 * Bumped when the model directory layout changes incompatibly.
 * 2: model.json.sha256 protects the manifest; no model.onnx in the directory (use `esmm export`).
 */
export const MODEL_FORMAT_VERSION = 2;
const MANIFEST = 'model.json';
/** `sha256sum` line of model.json: the manifest's own checksum (the manifest holds every other file's). */
const MANIFEST_SUM = 'model.json.sha256';
const CHECKPOINT = 'checkpoint';
/** A store-backed run's snapshot (src/distributed/store-checkpoint.ts), written by worker 0. */
const STORE_CHECKPOINT = 'store-checkpoint';
const isStoreCheckpoint = (p: string): boolean => existsSync(join(p, 'store-state.json'));
/** Files and folders a model directory may get: a non-esmm file of these names is never replaced. */
/** The post-hoc calibration (train.calibration), when the model has one. */
const CALIBRATION_FILE = 'calibration.json';
const MODEL_NAMES = [MANIFEST, MANIFEST_SUM, 'features.json', 'params.bin', 'emb', 'metrics.json', 'history.json', 'curves.json', CALIBRATION_FILE, CHECKPOINT, STORE_CHECKPOINT];

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
  /**
   * Towers whose logit adds an earlier tower's (TowerDecl.logitBase), when the model has any. The
   * same parameters mean another model without them, so loading checks them against the spec.
   */
  logit_bases?: Record<string, string>;
  /** sha256 of every other file in the directory. */
  checksums: Record<string, string>;
}

/** What an output directory holds, for deciding whether esmm may write a model into it. */
export interface OutDirState {
  kind: 'absent' | 'empty' | 'model' | 'foreign';
  /** Files of the esmm model published there (replaced or removed by the next save). */
  owned: string[];
}

/** Classify DIR: absent, empty, an esmm model directory (or an interrupted run's checkpoint), or anything else. */
export function inspectModelDir(dir: string): OutDirState {
  if (!existsSync(dir)) return { kind: 'absent', owned: [] };
  if (!statSync(dir).isDirectory()) throw new UserError('output path exists and is not a directory; choose another --out', { file: dir });
  recoverDir(dir);
  removeStaleTemps(dir);
  const entries = readdirSync(dir).filter((n) => !n.startsWith('.esmm-'));
  if (entries.length === 0) return { kind: 'empty', owned: [] };
  const owned = ownedFiles(dir);
  if (owned !== undefined) return { kind: 'model', owned };
  const resumable = (n: string): boolean => (n === CHECKPOINT && isEsmmCheckpoint(join(dir, n))) || (n === STORE_CHECKPOINT && isStoreCheckpoint(join(dir, n)));
  if (entries.every(resumable)) return { kind: 'model', owned: [] };
  return { kind: 'foreign', owned: [] };
}

/**
 * Refuse to train into DIR unless esmm may write a model there: absent, empty or an esmm model
 * directory; with `force` any directory, as long as no file there has a name esmm would write.
 */
export function assertModelOutDir(dir: string, force: boolean): OutDirState {
  const state = inspectModelDir(dir);
  if (state.kind !== 'foreign') return state;
  if (!force) {
    throw new UserError('is not empty and is not an esmm model directory; choose another --out, or add --force to write the model among its files (esmm never deletes files it did not write)', { file: dir });
  }
  for (const name of MODEL_NAMES) {
    const p = join(dir, name);
    if (existsSync(p) && !(name === CHECKPOINT && isEsmmCheckpoint(p)) && !(name === STORE_CHECKPOINT && isStoreCheckpoint(p))) {
      throw new UserError(`exists and was not written by esmm; move it away or choose another --out (even --force never replaces it)`, { file: p });
    }
  }
  return state;
}

/**
 * Save a model to DIR: model.json (manifest, config, checksums) and model.json.sha256 (its own
 * checksum), features.json (FeatureSpec), params.bin (dense parameters), emb/*.bin (embedding tables
 * incl. optimizer state) and `extraFiles`. Published in place (see util/atomic.ts): files esmm did
 * not write stay, files of the previous model are replaced, a crash leaves the old or the new model.
 * The run's checkpoint is removed once the model is published. No model.onnx: it was never read
 * back and could not be verified; `esmm export` writes the ONNX file to use elsewhere.
 */
export async function saveModel(model: FunnelModel, dir: string, extraFiles: Record<string, string> = {}, opts: { force?: boolean } = {}): Promise<void> {
  const state = assertModelOutDir(dir, opts.force === true);
  await writeDirAtomic(dir, (tmp) => {
    const checksums: Record<string, string> = {};
    const put = (name: string, data: string | Uint8Array): void => {
      const path = join(tmp, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, data);
      checksums[name] = sha256(data);
    };
    put('features.json', JSON.stringify(model.features.toJSON()));
    const packed = packFloats(model.params);
    put('params.bin', packed.bytes);
    const tables = writeTables(model.embeddings.tables, put);
    const calibration = model.calibration === undefined ? undefined : CALIBRATION_FILE;
    if (model.calibration !== undefined) put(CALIBRATION_FILE, JSON.stringify(model.calibration));
    for (const [name, text] of Object.entries(extraFiles)) put(confine(name, dir), text);
    const { baseDir: _b, ...config } = model.config;
    const manifest: Manifest = {
      format: 'esmm-model', version: MODEL_FORMAT_VERSION, created: new Date().toISOString(),
      config, layout: model.layout, params: packed.index, tables, ...(calibration !== undefined ? { calibration } : {}),
      ...(Object.keys(logitBases(model.spec)).length > 0 ? { logit_bases: logitBases(model.spec) } : {}), checksums,
    };
    const text = JSON.stringify(manifest, null, 1);
    writeFileSync(join(tmp, MANIFEST), text);
    writeFileSync(join(tmp, MANIFEST_SUM), `${sha256(text)}  ${MANIFEST}\n`);
  }, { label: 'model', previous: state.owned, last: [MANIFEST, MANIFEST_SUM] });
  removeCheckpoint(dir);
}

/** Files the esmm model in DIR consists of (from its manifest), or undefined when DIR holds no readable esmm manifest. */
function ownedFiles(dir: string): string[] | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Partial<Manifest>;
    if (m.format !== 'esmm-model' || m.checksums === null || typeof m.checksums !== 'object') return undefined;
    return [...Object.keys(m.checksums).map((f) => confine(f, dir)), MANIFEST, MANIFEST_SUM];
  } catch (e) {
    if (e instanceof UserError) throw e;
    return undefined;
  }
}

function isEsmmCheckpoint(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { format?: unknown }).format === 'esmm-checkpoint';
  } catch {
    return false;
  }
}

/**
 * Load a model saved by saveModel, verifying the manifest's own checksum, every file's checksum,
 * that every path stays inside DIR, and that every loaded value has the shape and range the model
 * needs (finite statistics and weights, vocabulary sizes matching the tables).
 */
export async function loadModel(dir: string): Promise<FunnelModel> {
  const manifestPath = join(dir, MANIFEST);
  removeStaleTemps(dirname(resolve(dir))); // also completes a directory swap of an older esmm killed between its renames
  recoverDir(dir);
  if (!existsSync(manifestPath)) throw new UserError(`not a model directory (no ${MANIFEST})`, { file: dir });
  const manifestBytes = readFileSync(manifestPath);
  const sumPath = join(dir, MANIFEST_SUM);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
  } catch {
    throw new UserError('model manifest is not valid JSON (corrupted file?)', { file: manifestPath });
  }
  if (manifest === null || typeof manifest !== 'object' || manifest.format !== 'esmm-model') throw new UserError('not an esmm model manifest', { file: manifestPath });
  if (manifest.version !== MODEL_FORMAT_VERSION) {
    throw new UserError(`model format version ${String(manifest.version)} is not supported by this esmm (expects ${MODEL_FORMAT_VERSION}); retrain or use a matching esmm`, { file: manifestPath });
  }
  if (!existsSync(sumPath)) throw new UserError(`${MANIFEST_SUM} is missing, so the manifest cannot be verified; retrain the model`, { file: sumPath });
  const want = readFileSync(sumPath, 'utf8').split(/\s/)[0];
  if (want !== sha256(manifestBytes)) throw new UserError('checksum mismatch: the model manifest is corrupted (or was edited)', { file: manifestPath });
  checkManifestShape(manifest, manifestPath);
  validateFloatIndex(manifest.params, manifestPath, 'params');
  validateTableEntries(manifest.tables, manifestPath);
  const read = (name: string): Uint8Array => {
    const rel = confine(name, dir);
    const path = join(dir, rel);
    const sum = manifest.checksums[name];
    if (typeof sum !== 'string') throw new UserError('the manifest lists no checksum for this file', { file: path });
    if (!existsSync(path)) throw new UserError('model file is missing', { file: path });
    const data = readFileSync(path);
    if (sha256(data) !== sum) throw new UserError('checksum mismatch: the model file is corrupted', { file: path });
    return data;
  };
  const featuresJson = JSON.parse(Buffer.from(read('features.json')).toString('utf8')) as FeatureSpecJSON;
  validateNumericStats(featuresJson, join(dir, 'features.json'));
  const features = FeatureSpec.fromJSON(featuresJson);
  const params = unpackFloats(read('params.bin'), manifest.params, join(dir, 'params.bin'));
  const tables = readTables(manifest.tables, read);
  validateLayout(manifest.layout, features, tables, manifestPath);
  const config: EsmmConfig = { ...manifest.config, baseDir: dir };
  const spec = funnelSpec(config.model.name, config.schema);
  checkLogitBases(manifest.logit_bases ?? {}, logitBases(spec), config.model.name, manifestPath);
  // Every dense parameter the forward graph takes, with its exact size (ORT would fail mid-request otherwise).
  const mg = buildModelGraph(spec, manifest.layout, config.model, { training: false, seed: config.train.seed });
  for (const p of mg.graph.params()) {
    const got = params.get(p.value.name);
    if (got === undefined || got.length !== p.init.length) {
      throw new UserError(`parameter '${p.value.name}' has ${got?.length ?? 'no'} values, the model needs ${p.init.length}`, { file: join(dir, 'params.bin') });
    }
  }
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

/**
 * A model saved when a tower had its own logit, loaded where that tower adds another's (esm2's
 * p(buy | action) before and after it became a departure from p(buy | no action)), has the same
 * parameters but would predict differently: refuse it rather than serve other numbers.
 */
function checkLogitBases(saved: Record<string, string>, now: Record<string, string>, model: string, file: string): void {
  for (const tower of new Set([...Object.keys(saved), ...Object.keys(now)])) {
    if (saved[tower] === now[tower]) continue;
    const was = saved[tower] === undefined ? 'its own logit' : `the logit of '${saved[tower]}' added to its own`;
    const is = now[tower] === undefined ? 'its own logit' : `the logit of '${now[tower]}' added to its own`;
    throw new UserError(`this ${model} model was saved when tower '${tower}' had ${was}; this esmm builds it with ${is}, so it would predict other numbers; retrain the model with this esmm`, { file, key: 'logit_bases' });
  }
}

/** The manifest's top-level fields have the types loading relies on (a hand-edited `null` is one line, not a TypeError). */
function checkManifestShape(m: Manifest, file: string): void {
  const isObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);
  const bad = (key: string, expected: string, v: unknown): never => {
    throw new UserError(`expected ${expected}, got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v} (corrupted or hand-edited manifest; retrain or restore the model)`, { file, key });
  };
  const fields = m as unknown as Record<string, unknown>;
  if (!isObject(fields.checksums)) bad('checksums', 'a mapping of file name to sha256', fields.checksums);
  for (const [name, sum] of Object.entries(m.checksums)) {
    if (typeof sum !== 'string' || !/^[0-9a-f]{64}$/.test(sum)) bad(`checksums.${name}`, 'a sha256 hex string', sum);
  }
  for (const name of ['features.json', 'params.bin']) if (m.checksums[name] === undefined) bad(`checksums.${name}`, 'a sha256 hex string', undefined);
  if (!Array.isArray(fields.tables)) bad('tables', 'a list of embedding tables', fields.tables);
  if (!Array.isArray(fields.params)) bad('params', 'a list of parameters', fields.params);
  if (!isObject(fields.layout)) bad('layout', 'a mapping', fields.layout);
  if (!isObject(fields.config)) bad('config', 'a mapping', fields.config);
  if (fields.logit_bases !== undefined) {
    if (!isObject(fields.logit_bases)) bad('logit_bases', 'a mapping of tower to tower', fields.logit_bases);
    for (const [t, b] of Object.entries(fields.logit_bases as Record<string, unknown>)) if (typeof b !== 'string') bad(`logit_bases.${t}`, 'a tower name', b);
  }
}

/** Finite means, positive finite standard deviations, finite increasing quantile cuts. */
function validateNumericStats(j: FeatureSpecJSON, file: string): void {
  if (j === null || typeof j !== 'object' || !Array.isArray(j.numeric) || !Array.isArray(j.categorical) || !Array.isArray(j.multiValued)) {
    throw new UserError('feature spec lacks its categorical, multiValued or numeric list', { file });
  }
  for (const n of j.numeric) {
    const col = { file, column: String((n as { name?: unknown }).name) };
    if (n.transform === 'standardize_tanh') {
      if (!Number.isFinite(n.mean) || !Number.isFinite(n.std) || !(n.std > 0) || !Number.isFinite(1 / n.std)) {
        throw new UserError(`numeric statistics out of range (mean ${String(n.mean)}, std ${String(n.std)})`, col);
      }
    } else if (n.transform === 'quantile') {
      if (!Array.isArray(n.cuts) || n.cuts.some((c, i) => !Number.isFinite(c) || (i > 0 && !(c > n.cuts[i - 1]!)))) throw new UserError('quantile cuts are not finite increasing numbers', col);
    } else {
      throw new UserError(`unknown numeric transform ${JSON.stringify((n as { transform?: unknown }).transform)}`, col);
    }
  }
}

/** The layout must match the feature spec (field names and id-space sizes) and the embedding tables' row counts. */
function validateLayout(layout: FeatureLayout, features: FeatureSpec, tables: Map<string, { rows: number; dim: number }[]>, file: string): void {
  const fail = (what: string): never => {
    throw new UserError(`model does not fit together: ${what}`, { file });
  };
  if (!Number.isInteger(layout.dim) || layout.dim <= 0) fail(`embedding dim ${String(layout.dim)}`);
  if (!Array.isArray(layout.categorical) || !Array.isArray(layout.multiValued)) fail('layout lacks its field lists');
  const same = (a: { name: string; size: number }[], b: { name: string; size: number }[], kind: string): void => {
    if (a.length !== b.length) fail(`${a.length} ${kind} fields in the layout, ${b.length} in features.json`);
    a.forEach((f, i) => {
      if (f.name !== b[i]!.name || f.size !== b[i]!.size) fail(`${kind} field '${f.name}' has ${f.size} ids in the layout, '${b[i]!.name}' has ${b[i]!.size} in features.json`);
    });
  };
  same(layout.categorical, features.categoricalFields, 'categorical');
  same(layout.multiValued, features.multiValuedFields, 'multi-valued');
  if (layout.numericDim !== features.numericFields.length) fail(`numericDim ${String(layout.numericDim)} but ${features.numericFields.length} numeric features`);
  const fields = [...layout.categorical, ...layout.multiValued];
  for (const [group, ts] of tables) {
    if (ts.length !== fields.length) fail(`embedding group '${group}' has ${ts.length} tables for ${fields.length} fields`);
    fields.forEach((f, i) => {
      const t = ts[i];
      if (t === undefined || t.rows !== f.size || t.dim !== layout.dim) fail(`embedding table ${group}.${i} has ${t?.rows} rows x ${t?.dim} for field '${f.name}' of ${f.size} ids x ${layout.dim}`);
    });
  }
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
