/**
 * The on-disk snapshot of a store-backed run (distributed/store-checkpoint.ts) round-trips, and a
 * snapshot written for another config or data is refused when it would be restored: the same
 * parameters would mean another model (train/checkpoint.ts refuses a single-process checkpoint
 * the same way).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStoreCheckpoint, STORE_CHECKPOINT_DIR, writeStoreCheckpoint, type StoreCheckpoint } from '../../src/distributed/store-checkpoint.js';
import { EmbeddingTable } from '../../src/embedding/table.js';
import { UserError } from '../../src/errors.js';
import { tempDir } from '../cli/helpers.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function snapshot(fingerprint?: string): StoreCheckpoint {
  const table = new EmbeddingTable({ name: 'user', rows: 10, dim: 4, seed: 3 });
  const grad = Float32Array.from({ length: 8 }, (_, i) => (i - 4) / 10);
  table.update(Int32Array.from([2, 7]), grad, 4, 0);
  return {
    run: 'r1', workers: 2, round: 41, epoch: 1, ...(fingerprint !== undefined ? { fingerprint } : {}),
    params: new Map([['w', Float32Array.from([1, -2, 3])]]),
    tables: new Map([['user', [table]]]),
  };
}

async function written(c: StoreCheckpoint): Promise<string> {
  const out = tempDir('esmm-store-ckpt-');
  dirs.push(out);
  await writeStoreCheckpoint(out, c);
  return out;
}

describe('store checkpoint', () => {
  it('round-trips rows, dense parameters and the fingerprint', async () => {
    const c = snapshot('fp-a');
    const out = await written(c);
    const back = readStoreCheckpoint(out, 'fp-a');
    expect(back?.fingerprint).toBe('fp-a');
    expect([back?.run, back?.workers, back?.round, back?.epoch]).toEqual(['r1', 2, 41, 1]);
    expect(Array.from(back!.params.get('w')!)).toEqual([1, -2, 3]);
    const saved = c.tables.get('user')![0]!.save();
    const restored = back!.tables.get('user')![0]!.save();
    expect(restored.meta.allocatedRows).toBe(2);
    expect(Array.from(restored.buffers.weights!)).toEqual(Array.from(saved.buffers.weights!));
  });

  it('refuses a snapshot written for another config, naming the file', async () => {
    const out = await written(snapshot('fp-a'));
    let err: unknown;
    try { readStoreCheckpoint(out, 'fp-b'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UserError);
    expect(String((err as Error).message)).toMatch(/different config or data/);
    expect(String((err as Error).message)).toContain(join(out, STORE_CHECKPOINT_DIR, 'store-state.json'));
    // Nothing was removed: the user's snapshot is still there and still reads with its own config.
    expect(readStoreCheckpoint(out, 'fp-a')?.round).toBe(41);
  });

  it('reads a snapshot written before fingerprints were kept, unchecked', async () => {
    const out = await written(snapshot('fp-a'));
    const state = join(out, STORE_CHECKPOINT_DIR, 'store-state.json');
    const m = JSON.parse(readFileSync(state, 'utf8')) as Record<string, unknown>;
    delete m.fingerprint;
    writeFileSync(state, JSON.stringify(m));
    const back = readStoreCheckpoint(out, 'fp-b');
    expect(back?.round).toBe(41);
    expect(back?.fingerprint).toBeUndefined();
  });

  it('is undefined where no snapshot was written', () => {
    const out = tempDir('esmm-store-ckpt-');
    dirs.push(out);
    expect(readStoreCheckpoint(out, 'fp-a')).toBeUndefined();
  });
});
