/**
 * Checks of an output path made BEFORE a command does any work, so a long run never ends in a
 * stack trace (or a hang: Node's recursive mkdir loops forever under /proc) because its output
 * cannot be written. Each failure is one line naming the path and the flag.
 */
import { accessSync, constants, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** Pseudo file systems: nothing esmm writes belongs there. */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

/**
 * `path` (given as `flag`) must be writable as a file: not a directory, its folder creatable (no
 * regular file on the way, not under /proc, /sys or /dev) and writable, and not one of `inputs`
 * (after resolving links: writing the output would destroy the input).
 */
export function checkOutputFile(path: string, flag: string, inputs: { path: string; flag: string }[] = []): void {
  const where = { file: path };
  const st = statOf(path);
  if (st?.isDirectory() === true) throw new UserError(`${flag} is a directory; give a file name (e.g. ${flag} ${pathJoin(path, suggestedName(flag))})`, where);
  checkParents(path, flag, st !== undefined);
  const owner = modelFileOwner(path);
  if (owner !== undefined) throw new UserError(`${flag} is a file of the esmm model in ${owner}; choose another ${flag}`, where);
  if (st !== undefined) {
    for (const input of inputs) {
      if (sameFile(path, input.path)) throw new UserError(`${flag} is the same file as ${input.flag}; writing it would overwrite the input, choose another ${flag}`, where);
    }
  }
}

/** `path` (given as `flag`) must be usable as an output directory: a directory or creatable, writable, not a pseudo file system. */
export function checkOutputDir(path: string, flag: string): void {
  const st = statOf(path);
  if (st !== undefined && !st.isDirectory()) throw new UserError(`${flag} exists and is not a directory; choose another ${flag}`, { file: path });
  checkParents(path, flag, st !== undefined);
}

/** The nearest existing ancestor must be a writable directory outside the pseudo file systems. */
function checkParents(path: string, flag: string, exists: boolean): void {
  const where = { file: path };
  let dir = exists && statOf(path)!.isDirectory() ? resolve(path) : dirname(resolve(path));
  // walk up to the first part of the path that exists
  while (statOf(dir) === undefined && dirname(dir) !== dir) dir = dirname(dir);
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    real = resolve(dir);
  }
  const under = (p: string, r: string): boolean => p === r || p.startsWith(`${r}/`);
  const pseudo = PSEUDO_ROOTS.find((r) => under(real, r) || under(resolve(path), r));
  if (pseudo !== undefined) throw new UserError(`${flag} is under ${pseudo}, a system pseudo file system; choose a path in a normal folder`, where);
  if (!statOf(dir)!.isDirectory()) throw new UserError(`${flag} is under ${dir}, which is a file, not a folder`, where);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    if (exists) accessSync(path, constants.W_OK);
  } catch {
    throw new UserError(`${flag} is not writable (no write permission on ${exists ? path : dir})`, where);
  }
}

/** The model directory whose manifest lists `path` (or which `path` is the manifest of), if any. */
function modelFileOwner(path: string): string | undefined {
  // A manifest lists files in sub-folders (emb/...): look in the two folders above too.
  let rel = basename(path);
  for (let dir = dirname(resolve(path)), i = 0; i < 3; i++, rel = join(basename(dir), rel), dir = dirname(dir)) {
    try {
      const m = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { format?: unknown; checksums?: Record<string, unknown> };
      if (m.format !== 'esmm-model') continue;
      if (rel === 'model.json' || rel === 'model.json.sha256' || (m.checksums !== null && typeof m.checksums === 'object' && Object.hasOwn(m.checksums, rel))) return dir;
    } catch {
      // no (readable) manifest here
    }
  }
  return undefined;
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

function statOf(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function pathJoin(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

function suggestedName(flag: string): string {
  if (flag === '--json') return 'metrics.json';
  if (flag === '--report') return 'report.html';
  return 'out';
}
