import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { EmbeddingStore } from '../embedding/embedding-store.js';
import type { DenseOptimizerState } from '../optim/dense.js';
import { packFloats, readTables, unpackFloats, validateFloatIndex, validateTableEntries, writeTables, type TableEntry } from '../models/table-files.js';
import { confine, recoverDir, writeDirAtomic } from '../util/atomic.js';
import { checksummedWriter, sha256Hex } from '../util/checksummed-files.js';
import type { EpochRecord } from './epoch-record.js';
import type { GradNormState } from './gradnorm.js';

export const CHECKPOINT_DIR = 'checkpoint';
/** 2: state.json.sha256 protects the manifest. */
const CHECKPOINT_VERSION = 2;
const STATE = 'state.json';
const STATE_SUM = 'state.json.sha256';

/** Where the loop is, so a resumed run continues with the very next batch. */
export interface LoopPosition {
  /** Steps done in total. */
  globalStep: number;
  /** Epoch in progress (1-based). */
  epoch: number;
  /** Batches of this epoch already done. */
  batchInEpoch: number;
  /** Shuffle RNG state BEFORE this epoch's shuffle (the order is regenerated from it). */
  epochShuffleState: number;
  dropoutState: number;
  /** Running loss sums of the epoch so far. */
  sums: Record<string, number>;
  epochSeconds: number;
  history: EpochRecord[];
  stepLoss: number[];
  /** The loss the spike guard watched per step (guard.ts: the total less the regularisers); absent in older checkpoints. */
  guardLoss?: number[];
  best: { epoch: number; score: number } | null;
  sinceBest: number;
  /** GradNorm loss weights and initial losses (loss_weighting: gradnorm only); exact as JSON numbers. */
  lossWeights?: GradNormState;
}

/** Everything needed to continue a run exactly: weights, optimizer state, RNG state, data position. */
export interface CheckpointState {
  position: LoopPosition;
  params: Map<string, Float32Array>;
  optimizer: DenseOptimizerState;
  tables: Map<string, EmbeddingStore[]>;
  /** Weights of the best epoch so far (early stopping), when different from the current ones. */
  best?: { params: Map<string, Float32Array>; tables: Map<string, EmbeddingStore[]> };
  /** Fingerprint of the config and data, so a checkpoint is never resumed on other data. */
  fingerprint: string;
}

interface CheckpointManifest {
  format: 'esmm-checkpoint';
  version: number;
  fingerprint: string;
  position: LoopPosition;
  params: { name: string; offset: number; length: number }[];
  optimizer: { step: number; buffers: { name: string; offset: number; length: number }[] };
  tables: TableEntry[];
  best?: { params: { name: string; offset: number; length: number }[]; tables: TableEntry[] };
  checksums: Record<string, string>;
}

/**
 * Publish a checkpoint into DIR/checkpoint (in place, see util/atomic.ts): a crash at any instant
 * leaves the previous or the new checkpoint, never a mix or none.
 */
export async function saveCheckpoint(outDir: string, s: CheckpointState): Promise<void> {
  const dir = join(outDir, CHECKPOINT_DIR);
  await writeDirAtomic(dir, (tmp) => {
    const { put, sums: checksums } = checksummedWriter(tmp);
    const params = packFloats(s.params);
    put('params.bin', params.bytes);
    const opt = packFloats(s.optimizer.buffers.map((b, i) => [String(i), b] as [string, Float32Array]));
    put('optimizer.bin', opt.bytes);
    const tables = writeTables(s.tables, put);
    const manifest: CheckpointManifest = {
      format: 'esmm-checkpoint', version: CHECKPOINT_VERSION, fingerprint: s.fingerprint, position: s.position,
      params: params.index, optimizer: { step: s.optimizer.step, buffers: opt.index }, tables, checksums,
    };
    if (s.best !== undefined) {
      const bp = packFloats(s.best.params);
      put('best/params.bin', bp.bytes);
      manifest.best = { params: bp.index, tables: writeTables(s.best.tables, put, 'best/emb') };
    }
    const text = JSON.stringify(manifest);
    writeFileSync(join(tmp, STATE), text);
    writeFileSync(join(tmp, STATE_SUM), `${sha256(text)}  ${STATE}\n`);
  }, { label: 'checkpoint', previous: ownedFiles(dir), last: [STATE, STATE_SUM] });
}

/** Files of the checkpoint in DIR (listed by its state.json), to replace or remove; [] when there is none. */
function ownedFiles(dir: string): string[] {
  recoverDir(dir);
  try {
    const m = JSON.parse(readFileSync(join(dir, STATE), 'utf8')) as Partial<CheckpointManifest>;
    if (m.format !== 'esmm-checkpoint' || m.checksums === null || typeof m.checksums !== 'object') return [];
    return [...Object.keys(m.checksums).map((f) => confine(f, dir)), STATE, STATE_SUM];
  } catch (e) {
    if (e instanceof UserError) throw e;
    return [];
  }
}

/** Remove DIR/checkpoint's files (those its state.json lists) once the finished model is published. */
export function removeCheckpoint(outDir: string): void {
  const dir = join(outDir, CHECKPOINT_DIR);
  if (!existsSync(dir)) return;
  for (const f of ownedFiles(dir)) rmSync(join(dir, f), { force: true });
  for (const sub of ['best/emb', 'best', 'emb', '']) {
    try {
      rmdirSync(join(dir, sub)); // only when empty: never a file esmm did not write
    } catch {
      // not empty or absent
    }
  }
}

export function hasCheckpoint(outDir: string): boolean {
  recoverDir(join(outDir, CHECKPOINT_DIR));
  return existsSync(join(outDir, CHECKPOINT_DIR, STATE));
}

/** Read DIR/checkpoint, verifying format, checksums and that it belongs to this config and data. */
export function loadCheckpoint(outDir: string, fingerprint: string): CheckpointState {
  const dir = join(outDir, CHECKPOINT_DIR);
  recoverDir(dir);
  const statePath = join(dir, STATE);
  if (!existsSync(statePath)) throw new UserError('no checkpoint to resume from (train without --resume first)', { file: dir });
  const bytes = readFileSync(statePath);
  let m: CheckpointManifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as CheckpointManifest;
  } catch {
    throw new UserError('checkpoint state is not valid JSON (corrupted?)', { file: statePath });
  }
  if (m === null || typeof m !== 'object' || m.format !== 'esmm-checkpoint' || m.version !== CHECKPOINT_VERSION) {
    throw new UserError(`unsupported checkpoint format ${String(m?.format)} v${String(m?.version)}; train again without --resume`, { file: statePath });
  }
  const sumPath = join(dir, STATE_SUM);
  if (!existsSync(sumPath) || readFileSync(sumPath, 'utf8').split(/\s/)[0] !== sha256(bytes)) {
    throw new UserError('checksum mismatch: the checkpoint state is corrupted (or was edited); train again without --resume', { file: statePath });
  }
  if (m.fingerprint !== fingerprint) throw new UserError('the checkpoint was written for a different config or data; remove it or use another --out', { file: statePath });
  validateCheckpoint(m, statePath);
  const read = (file: string): Uint8Array => {
    const path = join(dir, confine(file, dir));
    if (typeof m.checksums[file] !== 'string') throw new UserError('the checkpoint lists no checksum for this file', { file: path });
    if (!existsSync(path)) throw new UserError('checkpoint file is missing', { file: path });
    const data = new Uint8Array(readFileSync(path));
    if (sha256(data) !== m.checksums[file]) throw new UserError('checksum mismatch: the checkpoint file is corrupted', { file: path });
    return data;
  };
  const opt = unpackFloats(read('optimizer.bin'), m.optimizer.buffers, join(dir, 'optimizer.bin'));
  const state: CheckpointState = {
    position: m.position,
    params: unpackFloats(read('params.bin'), m.params, join(dir, 'params.bin')),
    optimizer: { step: m.optimizer.step, buffers: m.optimizer.buffers.map((b) => opt.get(b.name)!) },
    tables: readTables(m.tables, read),
    fingerprint,
  };
  if (m.best !== undefined) state.best = { params: unpackFloats(read('best/params.bin'), m.best.params, join(dir, 'best/params.bin')), tables: readTables(m.best.tables, read) };
  return state;
}

/** Shapes and ranges of what a resumed run takes from state.json. */
function validateCheckpoint(m: CheckpointManifest, file: string): void {
  const p = m.position as Partial<LoopPosition> | undefined;
  const count = (v: unknown, min: number): boolean => Number.isSafeInteger(v) && (v as number) >= min;
  if (p === null || typeof p !== 'object' || !count(p.globalStep, 0) || !count(p.epoch, 1) || !count(p.batchInEpoch, 0) ||
    !Number.isSafeInteger(p.epochShuffleState) || !Number.isSafeInteger(p.dropoutState) || !Array.isArray(p.history) || !Array.isArray(p.stepLoss) || typeof p.sums !== 'object' || p.sums === null) {
    throw new UserError('invalid checkpoint position (step, epoch, batch or RNG state)', { file, key: 'position' });
  }
  if (m.checksums === null || typeof m.checksums !== 'object') throw new UserError('checksums is not an object', { file, key: 'checksums' });
  validateFloatIndex(m.params, file, 'params');
  if (m.optimizer === null || typeof m.optimizer !== 'object' || !count(m.optimizer.step, 0)) throw new UserError('invalid optimizer state', { file, key: 'optimizer' });
  validateFloatIndex(m.optimizer.buffers, file, 'optimizer.buffers');
  validateTableEntries(m.tables, file);
  if (m.best !== undefined) {
    validateFloatIndex(m.best?.params, file, 'best.params');
    validateTableEntries(m.best?.tables, file, 'best.tables');
  }
}

const sha256 = sha256Hex;

/** A stable fingerprint of what a checkpoint depends on (model + train config, data shape). */
export function fingerprintOf(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}
