/**
 * The output folder of `esmm convert events` and the files esmm may replace in it.
 *
 * esmm never overwrites a file it did not write. The folder must be new, empty, or hold only what
 * an earlier `convert events` wrote there, as listed in its manifest. The manifest is written
 * before any data file, so even an interrupted run leaves a folder the next run may reuse.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../errors.js';

export const MANIFEST = '.esmm-convert-events.json';
export const OUTPUT_FILES = ['train.parquet', 'valid.parquet', 'test.parquet', 'esmm.yaml', 'summary.json'] as const;

interface Manifest {
  written_by: string;
  files: string[];
}

/** Refuses a folder holding anything esmm did not write; creates it and writes the manifest. */
export async function claimOutDir(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    if (e.code === 'ENOTDIR') throw new UserError('--out must be a folder, and this is a file', { file: dir });
    throw e;
  });
  if (entries !== null && entries.length > 0) {
    const owned = await ownedFiles(dir);
    const foreign = entries.find((e) => e !== MANIFEST && !owned.has(e) && !isLeftover(e, owned));
    if (foreign !== undefined) {
      throw new UserError(`holds '${foreign}', which esmm convert events did not write; give a new or empty --out folder`, { file: dir });
    }
  }
  await mkdir(dir, { recursive: true });
  const manifest: Manifest = { written_by: 'esmm convert events', files: [...OUTPUT_FILES] };
  await writeAtomically(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Temporary names of an interrupted earlier run (a work folder, partial outputs). */
function isLeftover(entry: string, owned: Set<string>): boolean {
  if (owned.size === 0) return false;
  if (/^\.esmm-work-\d+$/.test(entry)) return true;
  const m = /^(.*)\.\d+\.tmp$/.exec(entry);
  return m !== null && (owned.has(m[1]!) || m[1] === MANIFEST);
}

/** Work folder for DuckDB's database and spill files (removed at the end). */
export function workDirName(): string {
  return `.esmm-work-${process.pid}`;
}

async function ownedFiles(dir: string): Promise<Set<string>> {
  const text = await readFile(path.join(dir, MANIFEST), 'utf8').catch(() => null);
  if (text === null) return new Set();
  try {
    const m = JSON.parse(text) as Partial<Manifest>;
    return new Set(m.written_by === 'esmm convert events' && Array.isArray(m.files) ? m.files.filter((f) => typeof f === 'string') : []);
  } catch {
    return new Set();
  }
}

/** A temporary name next to `file`, renamed into place once complete. */
export function partialName(file: string): string {
  return `${file}.${process.pid}.tmp`;
}

export async function writeAtomically(file: string, text: string): Promise<void> {
  const partial = partialName(file);
  await writeFile(partial, text);
  await rename(partial, file);
}
