/**
 * Crash-safe publication of files and directories.
 *
 * A file is written to a temp name beside it, fsynced, then renamed over the target (and the
 * directory fsynced). A directory (model directory, checkpoint) is published IN PLACE, file by
 * file, so files esmm did not write stay where they are:
 *
 *   1. every new file is written and fsynced in a staging folder inside DIR (`.esmm-stage.PID.T`);
 *   2. a journal `.esmm-publish.json` (written atomically) lists the staged files to move and the
 *      previous publication's files to remove: from here on the publication is decided;
 *   3. the staged files are renamed into DIR (the manifest last), the obsolete ones removed, DIR
 *      fsynced, the journal deleted.
 *
 * A crash before step 2 leaves DIR as it was (the staging folder is garbage, removed later); a crash
 * during step 3 is rolled forward by `recoverDir`, which every loader calls first. So at every
 * instant DIR holds (after recovery) either the whole old or the whole new publication.
 */
import {
  closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync,
  statSync, writeSync, lstatSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, basename, join, isAbsolute, normalize, sep } from 'node:path';
import { UserError } from '../errors.js';

const JOURNAL = '.esmm-publish.json';
const STAGE_RE = /^\.esmm-stage\.(\d+)\.\d+$/;

/** Write `data` to `path` (created or truncated) and fsync it before returning. */
export function writeFileDurable(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(path, 'w');
  try {
    let at = 0;
    while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync a directory so renames and unlinks in it survive a power loss (best effort: some file systems refuse). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // EISDIR/EINVAL/EPERM on file systems without directory fsync: nothing more we can do.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write a file via a fsynced temp file + rename, so readers never see a half-written file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  ensureDir(dir);
  removeStaleTemps(dir);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileDurable(tmp, data);
    testPause('file');
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

export interface PublishOptions {
  /** What is published ('model', 'checkpoint'): names the test pause points. */
  label: string;
  /** Files (relative paths) of the publication now in DIR, i.e. what esmm wrote there before: replaced or removed. */
  previous: string[];
  /** Files renamed last, in this order (the manifest and its checksum trailer). */
  last: string[];
}

/**
 * Publish the files `fill` writes into a staging folder as DIR's new contents (see the top of this
 * file). Only files named in `opts.previous` are replaced or removed; a new file whose name is
 * taken by a file esmm did not write is refused before anything in DIR changes.
 */
export async function writeDirAtomic(dir: string, fill: (stageDir: string) => Promise<void> | void, opts: PublishOptions): Promise<void> {
  ensureDir(dir);
  recoverDir(dir);
  removeStaleTemps(dirname(dir));
  const stage = join(dir, `.esmm-stage.${process.pid}.${Date.now()}`);
  mkdirSync(stage);
  let files: string[];
  try {
    await fill(stage);
    files = listFiles(stage);
    // fsync every staged file, concurrently: the file system commits them in far fewer journal
    // flushes than one fsync after another (measured 3-4x faster on ext4).
    await Promise.all(files.map(async (f) => {
      const h = await open(join(stage, f), 'r+');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    }));
    for (const d of new Set(files.map((f) => dirname(f)))) fsyncDir(join(stage, d));
    const previous = new Set(opts.previous.map((p) => confine(p, dir)));
    for (const f of files) {
      const target = join(dir, f);
      if (existsSync(target) && !previous.has(f)) {
        throw new UserError('exists and was not written by esmm; move it away or choose another output directory (esmm never replaces files it did not write)', { file: target });
      }
    }
    const lastOrder = opts.last.filter((f) => files.includes(f));
    const ordered = [...files.filter((f) => !lastOrder.includes(f)), ...lastOrder];
    const remove = [...previous].filter((p) => !files.includes(p));
    testPause(`${opts.label}:staged`);
    writeFileAtomic(join(dir, JOURNAL), JSON.stringify({ pid: process.pid, stage: basename(stage), files: ordered, remove }));
  } catch (e) {
    rmSync(stage, { recursive: true, force: true });
    throw e;
  }
  testPause(`${opts.label}:journal`);
  applyJournal(dir, opts.label);
}

interface Journal {
  pid: number;
  stage: string;
  files: string[];
  remove: string[];
}

/** Carry out (or finish) the publication the journal in DIR describes. Idempotent. */
function applyJournal(dir: string, label?: string): void {
  const path = join(dir, JOURNAL);
  let j: Journal;
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as Journal;
    if (!STAGE_RE.test(j.stage) || !Array.isArray(j.files) || !Array.isArray(j.remove)) throw new Error('bad journal');
  } catch {
    throw new UserError(`unreadable publication journal ${JOURNAL} (corrupted?); remove it to keep the directory as it is`, { file: path });
  }
  const stage = join(dir, j.stage);
  const half = Math.floor(j.files.length / 2);
  j.files.forEach((f, i) => {
    const rel = confine(f, dir);
    const from = join(stage, rel);
    if (existsSync(from)) {
      ensureDir(dirname(join(dir, rel)));
      renameSync(from, join(dir, rel));
    }
    if (label !== undefined && i === half - 1) testPause(`${label}:midway`);
  });
  for (const r of j.remove) {
    const rel = confine(r, dir);
    rmSync(join(dir, rel), { force: true });
    removeEmptyParents(dir, rel);
  }
  rmSync(stage, { recursive: true, force: true });
  for (const d of new Set(j.files.map((f) => dirname(confine(f, dir))))) if (d !== '.') fsyncDir(join(dir, d));
  fsyncDir(dir);
  rmSync(path, { force: true });
  fsyncDir(dir);
}

/**
 * Bring DIR to a consistent state after a crash: finish a publication whose journal was written
 * (its writer being dead), and drop staging folders of dead processes. A publication still in
 * progress in another live process is waited for (briefly), then refused.
 */
export function recoverDir(dir: string): void {
  if (!isDirectory(dir)) return;
  const journal = join(dir, JOURNAL);
  for (let waited = 0; existsSync(journal); waited++) {
    let pid = 0;
    try {
      pid = (JSON.parse(readFileSync(journal, 'utf8')) as Journal).pid;
    } catch {
      // applyJournal reports the unreadable journal
    }
    // The rename phase takes milliseconds: a journal a minute old is stale even if its PID was reused.
    const stale = Date.now() - mtimeMs(journal) > 60_000;
    if (pid === process.pid || !pidAlive(pid) || stale) {
      try {
        applyJournal(dir);
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError(`a publication interrupted by a crash cannot be finished here (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); run esmm once with write access to this directory`, { file: dir });
      }
      break;
    }
    if (waited >= 100) throw new UserError(`esmm process ${pid} is still publishing into this directory; try again when it has finished`, { file: dir });
    sleepSync(50);
  }
  for (const name of safeReaddir(dir)) {
    const m = STAGE_RE.exec(name);
    if (m === null || pidAlive(Number(m[1]))) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
    } catch {
      // read-only directory: the leftover staging folder is harmless, the next writable run removes it
    }
  }
}

/**
 * Remove temp files and folders that esmm itself names, left in DIR by processes that no longer
 * run (kill -9): `.NAME.PID.tmp` files (writeFileAtomic), `.NAME.PID.TIME.tmp/` and `.NAME.PID.old/`
 * folders (the directory swap of esmm before in-place publication). A swap interrupted between its
 * two renames (NAME missing) is completed instead: its complete temp folder becomes NAME.
 */
export function removeStaleTemps(dir: string): void {
  const names = safeReaddir(dir);
  for (const name of names) {
    try {
      removeIfStale(dir, name, names);
    } catch {
      // best effort: a folder we may not write to keeps its leftovers
    }
  }
}

function removeIfStale(dir: string, name: string, names: string[]): void {
  let m = /^\.(.+)\.(\d+)\.tmp$/.exec(name);
  if (m !== null && !/\.\d+$/.test(m[1]!) && !pidAlive(Number(m[2]))) {
    if (isFile(join(dir, name))) rmSync(join(dir, name), { force: true });
    return;
  }
  m = /^\.(.+)\.(\d+)\.\d+\.tmp$/.exec(name) ?? /^\.(.+)\.(\d+)\.old$/.exec(name);
  if (m === null || pidAlive(Number(m[2])) || !isDirectory(join(dir, name))) return;
  const path = join(dir, name);
  const target = join(dir, m[1]!);
  if (existsSync(target)) {
    rmSync(path, { recursive: true, force: true }); // the swap finished (or was redone): a leftover
  } else if (name.endsWith('.tmp')) {
    // The manifest is written last: with it the temp folder is a complete publication.
    if (existsSync(join(path, 'model.json')) || existsSync(join(path, 'state.json'))) renameSync(path, target);
    else rmSync(path, { recursive: true, force: true });
  } else if (!names.some((n) => n.startsWith(`.${m![1]}.${m![2]}.`) && n.endsWith('.tmp'))) {
    renameSync(path, target); // killed after moving the old one away, before a new one was complete: restore it
  }
}

/** Refuse a manifest path that leaves its directory (absolute, `..`, NUL). Returns it normalized. */
export function confine(rel: string, dir: string): string {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0') || isAbsolute(rel)) {
    throw new UserError(`path ${JSON.stringify(rel)} in a manifest is not a file inside the directory`, { file: dir });
  }
  const n = normalize(rel);
  if (n === '..' || n.startsWith(`..${sep}`) || n.split(/[\\/]/).includes('..') || n === '.') {
    throw new UserError(`path ${JSON.stringify(rel)} in a manifest points outside its directory`, { file: dir });
  }
  return n;
}

/** True while a process with this id exists (EPERM: exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const pauseCounts = new Map<string, number>();

/**
 * Test-only hook: with ESMM_TEST_PAUSE_AT=POINT[@N] the process announces `ESMM_TEST_PAUSED POINT`
 * on stderr when it reaches POINT for the N-th time (default 1) and blocks there until killed, so
 * a test can kill -9 it at exactly that instant of a publication.
 */
export function testPause(point: string): void {
  const want = process.env.ESMM_TEST_PAUSE_AT;
  if (want === undefined || want === '') return;
  const [name, nth] = want.split('@');
  if (name !== point) return;
  const n = (pauseCounts.get(point) ?? 0) + 1;
  pauseCounts.set(point, n);
  if (n !== Number(nth ?? '1')) return;
  writeSync(2, `ESMM_TEST_PAUSED ${point} pid ${process.pid}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // blocks this thread until the process is killed
}

/**
 * mkdir -p without Node's recursive mkdir, which loops forever where a parent can neither be
 * found nor created (under /proc): each missing level is created on its own, so that case is an
 * ordinary ENOENT error.
 */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    if (dirname(d) === d) break;
    missing.unshift(d);
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function listFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : join(rel, e.name);
    if (e.isDirectory()) out.push(...listFiles(root, r));
    else out.push(r);
  }
  return out.sort();
}

function removeEmptyParents(dir: string, rel: string): void {
  for (let d = dirname(rel); d !== '.' && d !== ''; d = dirname(d)) {
    try {
      rmdirSync(join(dir, d)); // only succeeds when empty
    } catch {
      return;
    }
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return lstatSync(p).isFile();
  } catch {
    return false;
  }
}

function mtimeMs(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return Date.now();
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
