/**
 * Writes files into a staging folder (writeDirAtomic's) and records the sha256 of each, for the
 * manifest a checkpoint's reader verifies. Shared by the training checkpoint and the store snapshot.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface ChecksummedWriter {
  /** Writes `data` to `file` (relative to the stage, folders created) and records its sha256. */
  put(file: string, data: Uint8Array): void;
  /** file -> sha256 of everything put so far. */
  sums: Record<string, string>;
}

export function checksummedWriter(stage: string): ChecksummedWriter {
  const sums: Record<string, string> = {};
  return {
    sums,
    put(file, data) {
      const path = join(stage, file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, data);
      sums[file] = sha256Hex(data);
    },
  };
}
