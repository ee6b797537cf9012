/**
 * Ingest benchmark: read a synthetic 2M-row CSV (10 categorical, 3 numeric, click/buy labels)
 * with readAll, fit a FeatureSpec and transform. Prints one JSON line with rows/s (median of 3).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/ingest.js [rows]
 */
import { createWriteStream, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { readAll } from '../src/data/reader.js';
import type { Schema } from '../src/data/schema.js';
import { FeatureSpec } from '../src/features/spec.js';

const ROWS = Number(process.argv[2] ?? 2_000_000);
const CATEGORICAL = Array.from({ length: 10 }, (_, i) => `c${i}`);
const NUMERIC = ['x0', 'x1', 'x2'];
const schema: Schema = { labels: { click: 'click', buy: 'buy' }, categorical: CATEGORICAL, numeric: NUMERIC };

/** Deterministic xorshift32 in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

async function writeCsv(file: string): Promise<void> {
  const rand = rng(42);
  const out = createWriteStream(file);
  out.write(['click', 'buy', ...CATEGORICAL, ...NUMERIC].join(',') + '\n');
  let buf = '';
  for (let r = 0; r < ROWS; r++) {
    const click = rand() < 0.04 ? 1 : 0;
    const buy = click === 1 && rand() < 0.05 ? 1 : 0;
    const cells: (string | number)[] = [click, buy];
    // Cardinalities 10 .. 100k, skewed towards small ids (power of a uniform).
    for (let c = 0; c < CATEGORICAL.length; c++) cells.push(Math.floor(rand() ** 2 * 10 ** (1 + (c % 5))));
    for (let x = 0; x < NUMERIC.length; x++) cells.push(rand() < 0.05 ? '' : (rand() * 100).toFixed(3));
    buf += cells.join(',') + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((res) => out.once('drain', () => res()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'esmm-ingest-'));
  const file = join(dir, 'ingest.csv');
  try {
    await writeCsv(file);
    const read: number[] = [];
    const fit: number[] = [];
    const transform: number[] = [];
    for (let run = 0; run < 3; run++) {
      let t = performance.now();
      const { data } = await readAll(file, { schema });
      read.push((performance.now() - t) / 1000);
      t = performance.now();
      const spec = FeatureSpec.fit(schema, data);
      fit.push((performance.now() - t) / 1000);
      t = performance.now();
      spec.transform(data);
      transform.push((performance.now() - t) / 1000);
    }
    const encode = fit.map((f, i) => f + transform[i]!);
    console.log(
      JSON.stringify({
        bench: 'ingest',
        rows: ROWS,
        columns: { categorical: CATEGORICAL.length, numeric: NUMERIC.length, labels: 2 },
        read_rows_per_s: Math.round(ROWS / median(read)),
        fit_rows_per_s: Math.round(ROWS / median(fit)),
        transform_rows_per_s: Math.round(ROWS / median(transform)),
        encode_rows_per_s: Math.round(ROWS / median(encode)),
        seconds: { read: read.map((s) => +s.toFixed(2)), fit: fit.map((s) => +s.toFixed(2)), transform: transform.map((s) => +s.toFixed(2)) },
        machine: { cpus: cpus().length, load1: +loadavg()[0]!.toFixed(2), node: process.version },
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
