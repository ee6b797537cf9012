/**
 * A consistent snapshot of a store-backed run on disk, for when the store itself is lost (a
 * cluster rebuilt or flushed). Worker 0 writes it at each epoch end, while every other worker
 * waits at the epoch barrier: all pushes of the epoch have landed and worker 0 has just read
 * every row, so rows and dense parameters belong to the same round.
 *
 * OUT/store-checkpoint/: params.bin (dense, as a model's), dense-optimizer.bin (the dense
 * optimizer's buffers, e.g. Adam's moments, the same on every worker; its step count is in the
 * manifest), emb/*.bin (every table with its optimizer state, EmbeddingTable's save format),
 * store-state.json (run, workers, round, epoch, the run's config fingerprint, sha256 of every file;
 * renamed last, so a half-written snapshot is never read). A snapshot without dense-optimizer.bin
 * (written before it was kept) resumes with the dense moments at zero; one without a fingerprint
 * (written before it was kept) is not checked against the config.
 * `--resume` against a store that has no state for the run restores it (store-sync + coordinator).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { EmbeddingStore } from '../embedding/embedding-store.js';
import type { DenseOptimizerState } from '../optim/dense.js';
import { packFloats, readTables, unpackFloats, writeTables, type TableEntry } from '../models/table-files.js';
import { confine, recoverDir, writeDirAtomic } from '../util/atomic.js';
import { checksummedWriter, sha256Hex } from '../util/checksummed-files.js';

export const STORE_CHECKPOINT_DIR = 'store-checkpoint';
const STATE = 'store-state.json';
const FORMAT = 'esmm-store-checkpoint/1';

export interface StoreCheckpoint {
  run: string;
  workers: number;
  /** The last round whose updates the snapshot holds. */
  round: number;
  epoch: number;
  /** The run's config and data fingerprint (train/checkpoint.ts fingerprintOf); undefined in snapshots written before it was kept. */
  fingerprint?: string;
  params: Map<string, Float32Array>;
  /** The dense optimizer's state after `round` (undefined: a snapshot from before it was kept). */
  optimizer?: DenseOptimizerState;
  tables: Map<string, EmbeddingStore[]>;
}

interface Manifest {
  format: string;
  run: string;
  workers: number;
  round: number;
  epoch: number;
  fingerprint?: string;
  params: { name: string; offset: number; length: number }[];
  optimizer?: { step: number; buffers: { name: string; offset: number; length: number }[] };
  tables: TableEntry[];
  sha256: Record<string, string>;
}

const sha256 = sha256Hex;

export async function writeStoreCheckpoint(outDir: string, c: StoreCheckpoint): Promise<void> {
  const dir = join(outDir, STORE_CHECKPOINT_DIR);
  const previous = existsSync(join(dir, STATE)) ? [...Object.keys((JSON.parse(readFileSync(join(dir, STATE), 'utf8')) as Manifest).sha256), STATE] : [];
  await writeDirAtomic(dir, (stage) => {
    const { put, sums } = checksummedWriter(stage);
    const params = packFloats(c.params);
    put('params.bin', params.bytes);
    let optimizer: Manifest['optimizer'];
    if (c.optimizer !== undefined) {
      const moments = packFloats(c.optimizer.buffers.map((b, i): [string, Float32Array] => [String(i), b]));
      put('dense-optimizer.bin', moments.bytes);
      optimizer = { step: c.optimizer.step, buffers: moments.index };
    }
    const tables = writeTables(c.tables, put);
    const manifest: Manifest = {
      format: FORMAT, run: c.run, workers: c.workers, round: c.round, epoch: c.epoch,
      ...(c.fingerprint !== undefined ? { fingerprint: c.fingerprint } : {}),
      params: params.index, ...(optimizer !== undefined ? { optimizer } : {}), tables, sha256: sums,
    };
    writeFileSync(join(stage, STATE), JSON.stringify(manifest));
  }, { label: 'store-checkpoint', previous, last: [STATE] });
}

/**
 * The snapshot in OUT, or undefined when there is none. With `fingerprint`, a snapshot written
 * for another config or data is refused (as train/checkpoint.ts refuses a single-process one):
 * restoring it would continue a run whose parameters mean something else.
 */
export function readStoreCheckpoint(outDir: string, fingerprint?: string): StoreCheckpoint | undefined {
  const dir = join(outDir, STORE_CHECKPOINT_DIR);
  if (!existsSync(join(dir, STATE))) return undefined;
  recoverDir(dir);
  const m = JSON.parse(readFileSync(join(dir, STATE), 'utf8')) as Manifest;
  if (m.format !== FORMAT) throw new UserError(`not an esmm store checkpoint (format ${String(m.format)})`, { file: join(dir, STATE) });
  if (fingerprint !== undefined && m.fingerprint !== undefined && m.fingerprint !== fingerprint) {
    throw new UserError(`the store snapshot was written for a different config or data; resume with the config it was written with, or remove ${dir} (or use another --out) to start over`, { file: join(dir, STATE) });
  }
  const read = (file: string): Uint8Array => {
    const path = join(dir, confine(file, dir));
    const b = new Uint8Array(readFileSync(path));
    if (sha256(b) !== m.sha256[file]) throw new UserError('store checkpoint file does not match its checksum (damaged?)', { file: path });
    return b;
  };
  const optimizer = m.optimizer === undefined ? undefined
    : { step: m.optimizer.step, buffers: [...unpackFloats(read('dense-optimizer.bin'), m.optimizer.buffers, join(dir, 'dense-optimizer.bin')).values()] };
  return {
    run: m.run, workers: m.workers, round: m.round, epoch: m.epoch, ...(m.fingerprint !== undefined ? { fingerprint: m.fingerprint } : {}),
    params: unpackFloats(read('params.bin'), m.params, join(dir, 'params.bin')),
    ...(optimizer !== undefined ? { optimizer } : {}),
    tables: readTables(m.tables, read),
  };
}
