/**
 * Memory and lookup speed of a vocabulary of N distinct ids (bench/scale.ts-shaped values such
 * as 'f205_1234567'): the VocabularyEncoder (typed-array StringIndex) against the
 * Map<string, number> + string[] it replaced, in separate child processes, interleaved.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/vocab-memory.js [--ids 5000000] [--rounds 3]
 *
 * Prints per round and engine: bytes per id retained (RSS and V8 heap+external growth after
 * building, with the input list released and a full GC: the children run with --expose-gc) and
 * ns per lookup (the ids looked up in a shuffled order, a tenth of them unknown).
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { VocabularyEncoder } from '../src/features/categorical-encoder.js';

const { values } = parseArgs({ options: { ids: { type: 'string' }, rounds: { type: 'string' }, child: { type: 'string' } } });
const IDS = Number(values.ids ?? 5_000_000);
const ROUNDS = Number(values.rounds ?? 3);

function makeValues(n: number, salt: number): string[] {
  return Array.from({ length: n }, (_, i) => `f205_${(i * 7919 + salt) % 4_000_000}_${i}`);
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function used(): { rss: number; heap: number } {
  const m = process.memoryUsage();
  // external already counts the typed arrays' buffers (arrayBuffers is a part of it).
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

/**
 * The engine's lookup over IDS values. One function per engine: closures made in one function
 * share its context, so a closure over `list` in one branch would keep it alive for the other.
 */
function buildMap(): (v: string) => number {
  const list = makeValues(IDS, 0);
  const ids = new Map(list.map((v, k) => [v, k + 1]));
  // The old encoder kept its values array too (for saving).
  return (v) => ids.get(v) ?? (list.length < 0 ? 1 : 0);
}

function buildIndex(): (v: string) => number {
  const enc = new VocabularyEncoder(makeValues(IDS, 0), 1);
  return (v) => enc.encode(v);
}

function child(engine: string): void {
  gc();
  const before = used();
  const lookup = engine === 'map' ? buildMap() : buildIndex();
  gc();
  const after = used();
  // Probes: fresh strings (as a reader delivers them), every tenth unknown.
  const probes = makeValues(Math.min(IDS, 2_000_000), 0).map((v, i) => (i % 10 === 9 ? `${v}x` : v));
  for (let i = probes.length - 1; i > 0; i--) {
    const j = (i * 2654435761) % (i + 1);
    [probes[i], probes[j]] = [probes[j]!, probes[i]!];
  }
  const t = process.hrtime.bigint();
  let sum = 0;
  for (const p of probes) sum += lookup(p);
  const ns = Number(process.hrtime.bigint() - t) / probes.length;
  process.stdout.write(JSON.stringify({ engine, ids: IDS, rss_bytes_per_id: +((after.rss - before.rss) / IDS).toFixed(1), heap_bytes_per_id: +((after.heap - before.heap) / IDS).toFixed(1), ns_per_lookup: +ns.toFixed(1), check: sum }) + '\n');
}

if (values.child !== undefined) child(values.child);
else {
  const self = fileURLToPath(import.meta.url);
  const rows: Record<string, number[]>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const engine of ['map', 'string-index']) {
      const out = execFileSync(process.execPath, ['--expose-gc', self, '--ids', String(IDS), '--child', engine], { encoding: 'utf8' });
      process.stdout.write(`round ${r + 1} load ${loadavg()[0]!.toFixed(1)} ${out}`);
      rows.push({ [engine]: [JSON.parse(out).rss_bytes_per_id, JSON.parse(out).ns_per_lookup] });
    }
  }
  for (const engine of ['map', 'string-index']) {
    const got = rows.flatMap((r) => (r[engine] === undefined ? [] : [r[engine]!]));
    const med = (k: number): number => got.map((g) => g[k]!).sort((a, b) => a - b)[Math.floor(got.length / 2)]!;
    process.stdout.write(`${engine}: median RSS bytes/id ${med(0)}, ns/lookup ${med(1)} [${got.map((g) => g[1]).join(', ')}]\n`);
  }
}
