/**
 * Per-process temp folders in the system temp dir (preset copies of data files). Their names carry
 * the PID (`esmm-KIND-PID-XXXXXX`): they are removed when the process exits, and a folder left by
 * a process that was killed (kill -9 skips exit handlers) is removed by the next esmm run.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from './atomic.js';

const mine: string[] = [];
let hooked = false;

export function runTempDir(kind: string): string {
  removeStaleRunTemps(kind);
  const dir = mkdtempSync(join(tmpdir(), `esmm-${kind}-${process.pid}-`));
  mine.push(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const d of mine) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** Remove `esmm-KIND-PID-*` folders of processes that no longer run. */
export function removeStaleRunTemps(kind: string, root = tmpdir()): void {
  const re = new RegExp(`^esmm-${kind}-(\\d+)-[A-Za-z0-9]{6}$`);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = re.exec(name);
    if (m !== null && !pidAlive(Number(m[1]))) rmSync(join(root, name), { recursive: true, force: true });
  }
}
