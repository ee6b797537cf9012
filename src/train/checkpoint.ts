import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import type { EmbeddingTable } from '../embedding/table.js';
import type { DenseOptimizerState } from '../optim/dense.js';
import { packFloats, readTables, unpackFloats, writeTables, type TableEntry } from '../models/table-files.js';
import { writeDirAtomic } from '../util/atomic.js';
import type { EpochRecord } from './epoch-record.js';
import type { GradNormState } from './gradnorm.js';

export const CHECKPOINT_DIR = 'checkpoint';
const CHECKPOINT_VERSION = 1;

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
  tables: Map<string, EmbeddingTable[]>;
  /** Weights of the best epoch so far (early stopping), when different from the current ones. */
  best?: { params: Map<string, Float32Array>; tables: Map<string, EmbeddingTable[]> };
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

/** Write a checkpoint into DIR/checkpoint atomically (temp dir + rename): a crash keeps the previous one. */
export async function saveCheckpoint(outDir: string, s: CheckpointState): Promise<void> {
  await writeDirAtomic(join(outDir, CHECKPOINT_DIR), (tmp) => {
    const checksums: Record<string, string> = {};
    const put = (file: string, data: Uint8Array): void => {
      const path = join(tmp, file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, data);
      checksums[file] = sha256(data);
    };
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
    writeFileSync(join(tmp, 'state.json'), JSON.stringify(manifest));
  });
}

export function hasCheckpoint(outDir: string): boolean {
  return existsSync(join(outDir, CHECKPOINT_DIR, 'state.json'));
}

/** Read DIR/checkpoint, verifying format, checksums and that it belongs to this config and data. */
export function loadCheckpoint(outDir: string, fingerprint: string): CheckpointState {
  const dir = join(outDir, CHECKPOINT_DIR);
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath)) throw new UserError('no checkpoint to resume from (train without --resume first)', { file: dir });
  let m: CheckpointManifest;
  try {
    m = JSON.parse(readFileSync(statePath, 'utf8')) as CheckpointManifest;
  } catch {
    throw new UserError('checkpoint state is not valid JSON (corrupted?)', { file: statePath });
  }
  if (m.format !== 'esmm-checkpoint' || m.version !== CHECKPOINT_VERSION) throw new UserError(`unsupported checkpoint format ${m.format} v${m.version}`, { file: statePath });
  if (m.fingerprint !== fingerprint) throw new UserError('the checkpoint was written for a different config or data; remove it or use another --out', { file: statePath });
  const read = (file: string): Uint8Array => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new UserError('checkpoint file is missing', { file: path });
    const data = new Uint8Array(readFileSync(path));
    if (sha256(data) !== m.checksums[file]) throw new UserError('checksum mismatch: the checkpoint file is corrupted', { file: path });
    return data;
  };
  const opt = unpackFloats(read('optimizer.bin'), m.optimizer.buffers);
  const state: CheckpointState = {
    position: m.position,
    params: unpackFloats(read('params.bin'), m.params),
    optimizer: { step: m.optimizer.step, buffers: m.optimizer.buffers.map((b) => opt.get(b.name)!) },
    tables: readTables(m.tables, read),
    fingerprint,
  };
  if (m.best !== undefined) state.best = { params: unpackFloats(read('best/params.bin'), m.best.params), tables: readTables(m.best.tables, read) };
  return state;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A stable fingerprint of what a checkpoint depends on (model + train config, data shape). */
export function fingerprintOf(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}
