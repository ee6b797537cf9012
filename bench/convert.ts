/**
 * Ali-CCP raw -> Parquet throughput and memory: generates a raw skeleton file (default 5M rows)
 * plus its common features in os.tmpdir(), converts it, checks the output kept the line order,
 * prints one JSON line (rows/s, peak RSS) and deletes what it wrote.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/convert.js [rows] [memoryLimit]
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { convertAliCcp } from '../src/datasets/convert-ali-ccp.js';

const ROWS = Number(process.argv[2] ?? 5_000_000);
const MEMORY_LIMIT = process.argv[3] ?? '1GB';
/** About one common-feature row per 58 samples, as in the public training set (42M / 730k). */
const COMMON_ROWS = Math.max(1, Math.round(ROWS / 58));
/** Entries per behaviour field in a common row (the real lists are often longer). */
const BEHAVIOUR_ITEMS = 20;

const feature = (field: string, id: number, value: string): string => `${field}\x02${id}\x03${value}`;

/** Deterministic pseudo-random integers, so runs are comparable. */
function makeRandom(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

async function writeLines(file: string, count: number, line: (i: number) => string): Promise<void> {
  const stream = createWriteStream(file);
  for (let i = 0; i < count; i++) {
    if (!stream.write(line(i) + '\n')) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}

function commonLine(i: number, random: (n: number) => number): string {
  const features = [feature('101', i, '1.0')];
  for (const field of ['121', '122', '124', '125', '126', '127', '128', '129']) features.push(feature(field, random(100), '1.0'));
  for (const field of ['109_14', '110_14', '127_14', '150_14']) {
    for (let k = 0; k < BEHAVIOUR_ITEMS; k++) features.push(feature(field, random(100_000), String(1 + random(9))));
  }
  return `u${i},${features.length},${features.join('\x01')}`;
}

/** f205 (item id) is the line number, so the output's order can be checked. */
function skeletonLine(i: number, random: (n: number) => number): string {
  const features = [
    feature('205', i + 1, '1.0'),
    feature('206', random(7000), '1.0'),
    feature('207', random(260_000), '1.0'),
    feature('210', random(40_000), '1.0'),
    feature('216', random(100_000), '1.0'),
    feature('301', random(4), '1.0'),
  ];
  for (const field of ['508', '509', '702', '853']) {
    const n = 1 + random(3);
    for (let k = 0; k < n; k++) features.push(feature(field, random(50_000), (random(100) / 10).toFixed(1)));
  }
  const click = random(100) < 4 ? 1 : 0;
  const buy = click === 1 && random(100) < 5 ? 1 : 0;
  // A few samples point at a common index that does not exist, as the converter must handle.
  const common = random(1000) === 0 ? 'missing' : `u${random(COMMON_ROWS)}`;
  return `${i + 1},${click},${buy},${common},${features.length},${features.join('\x01')}`;
}

/** Output rows whose f205 is not its 1-based row number (0 when the order was kept). */
async function rowsOutOfOrder(file: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT count(*) FROM read_parquet('${file}', file_row_number = true) WHERE CAST(f205 AS BIGINT) <> file_row_number + 1`,
    );
    return Number(reader.getRows()[0]![0]);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'esmm-bench-convert-'));
  try {
    const skeleton = path.join(dir, 'sample_skeleton_bench.csv');
    const common = path.join(dir, 'common_features_bench.csv');
    const out = path.join(dir, 'ali-ccp.parquet');
    const random = makeRandom(42);
    const generateStart = performance.now();
    await writeLines(common, COMMON_ROWS, (i) => commonLine(i, random));
    await writeLines(skeleton, ROWS, (i) => skeletonLine(i, random));
    const generateSeconds = (performance.now() - generateStart) / 1000;
    const rssBefore = process.resourceUsage().maxRSS;

    const start = performance.now();
    const result = await convertAliCcp({
      skeleton,
      common,
      out,
      memoryLimit: MEMORY_LIMIT,
      onProgress: (p) => process.stderr.write(`\r${p.stage}: ${p.percentage.toFixed(0)}%   `),
    });
    const seconds = (performance.now() - start) / 1000;
    process.stderr.write('\n');
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    const outOfOrder = await rowsOutOfOrder(out);

    console.log(
      JSON.stringify({
        bench: 'convert-ali-ccp',
        rows: result.rows,
        commonRows: COMMON_ROWS,
        skeletonMiB: Math.round((await stat(skeleton)).size / 2 ** 20),
        commonMiB: Math.round((await stat(common)).size / 2 ** 20),
        parquetMiB: Math.round((await stat(out)).size / 2 ** 20),
        memoryLimit: MEMORY_LIMIT,
        seconds: Number(seconds.toFixed(1)),
        rowsPerSecond: Math.round(result.rows / seconds),
        peakRssMiB: Math.round(peakRssMiB),
        rssBeforeConvertMiB: Math.round(rssBefore / 1024),
        rowsOutOfOrder: outOfOrder,
        generateSeconds: Number(generateSeconds.toFixed(1)),
        cores: os.cpus().length,
        loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)),
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
