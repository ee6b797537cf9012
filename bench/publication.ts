/**
 * Cost of crash-safe directory publication (src/util/atomic.ts): publishing a checkpoint-like
 * folder (--files files of --kb KiB) with writeDirAtomic (staging, concurrent fsync, journal,
 * renames) against plain unsynced writes of the same files. Prints one JSON line per case with
 * the median and spread in ms. Run: node dist/bench/publication.js [--files 27] [--kb 64] [--runs 15]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { writeDirAtomic } from '../src/util/atomic.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const files = arg('files', 27);
const kb = arg('kb', 64);
const runs = arg('runs', 15);
const root = mkdtempSync(join(tmpdir(), 'esmm-bench-publication-'));
const names = Array.from({ length: files }, (_, i) => (i < 3 ? `f${i}.bin` : `emb/t${i}.bin`));
const data = new Uint8Array(kb * 1024).fill(7);

function stats(ms: number[]): { median: number; min: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: +s[Math.floor(s.length / 2)]!.toFixed(2), min: +s[0]!.toFixed(2), max: +s[s.length - 1]!.toFixed(2) };
}

const plain: number[] = [];
const published: number[] = [];
for (let r = 0; r < runs; r++) {
  const dir = join(root, `plain${r}`);
  let t = performance.now();
  for (const n of names) {
    mkdirSync(dirname(join(dir, n)), { recursive: true });
    writeFileSync(join(dir, n), data);
  }
  plain.push(performance.now() - t);
  t = performance.now();
  await writeDirAtomic(join(root, 'published'), (stage) => {
    for (const n of names) {
      mkdirSync(dirname(join(stage, n)), { recursive: true });
      writeFileSync(join(stage, n), data);
    }
  }, { label: 'bench', previous: r === 0 ? [] : names, last: ['f0.bin'] });
  published.push(performance.now() - t);
}
rmSync(root, { recursive: true, force: true });
const load = loadavg()[0]!.toFixed(2);
console.log(JSON.stringify({ case: 'plain writes (no fsync)', files, kb, runs, ms: stats(plain), load1: load }));
console.log(JSON.stringify({ case: 'writeDirAtomic (fsync + journal)', files, kb, runs, ms: stats(published), load1: load }));
