/**
 * What a store worker's data loading costs before its first step (issue 15): worker 0 of N reading
 * only its share of the training files (api/load-partition.ts: a DuckDB feature fit over all
 * files, then its own files / row groups / rows mod N) against the old path (every worker reads,
 * fits and encodes every row, then keeps rows with index mod N == I). Three layouts: 4 Parquet
 * files (whole files), one Parquet file of several row groups (row-group ranges), one CSV file
 * (rows mod N). Prints the median and spread of wall seconds and the rows each path materialised
 * in JavaScript. Not a test: it prints.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/partition-read.js [--rows 1000000] [--workers 2] [--repeats 3]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/api/load-config.js';
import { loadData } from '../src/api/load-data.js';
import { loadPartition } from '../src/api/load-partition.js';
import { prepareFeatures } from '../src/api/prepare-features.js';
import type { EsmmConfig } from '../src/config/types.js';
import { connectDuckDB, sqlString } from '../src/data/duckdb.js';
import { partitionRows } from '../src/distributed/worker-trainer.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, workers: { type: 'string', default: '2' }, repeats: { type: 'string', default: '3' } } });
const ROWS = Number(values.rows);
const N = Number(values.workers);
const REPEATS = Number(values.repeats);

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)]!.toFixed(2)} s (${s[0]!.toFixed(2)}-${s[s.length - 1]!.toFixed(2)})`;
}

const dir = mkdtempSync(join(tmpdir(), 'esmm-partition-bench-'));
for (const d of ['many', 'one', 'csv']) mkdirSync(join(dir, d));
const rowsSql = (from: number, to: number): string =>
  `SELECT 'r' || i AS rid, 'u' || (i % 5000) AS user_id, 'i' || (hash(i * 3) % 20000) AS item_id, (hash(i) % 20 = 0)::INT AS click,
   ((hash(i) % 20 = 0) AND (hash(i * 7) % 10 = 0))::INT AS buy, (i % 13)::DOUBLE AS price FROM range(${from}, ${to}) t(i)`;
const con = await connectDuckDB();
for (let f = 0; f < 4; f++) {
  await con.run(`COPY (${rowsSql((f * ROWS) / 4, ((f + 1) * ROWS) / 4)}) TO ${sqlString(join(dir, 'many', `part-${f}.parquet`))} (FORMAT parquet)`);
}
await con.run(`COPY (${rowsSql(0, ROWS)}) TO ${sqlString(join(dir, 'one', 'all.parquet'))} (FORMAT parquet, ROW_GROUP_SIZE ${Math.ceil(ROWS / 8)})`);
await con.run(`COPY (${rowsSql(0, ROWS)}) TO ${sqlString(join(dir, 'csv', 'all.csv'))} (HEADER)`);
const one = sqlString(join(dir, 'one', 'all.parquet'));
const groups = (await (await con.run(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata(${one})`)).getRows())[0]![0];
// Does a file_row_number range skip the other row groups? One group's rows vs the whole file vs rows mod 8.
const firstGroup = Number((await (await con.run(`SELECT row_group_num_rows FROM parquet_metadata(${one}) WHERE row_group_id = 1 LIMIT 1`)).getRows())[0]![0]);
const scan = async (where: string): Promise<string> => {
  const ts: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    await (await con.run(`SELECT max(length(rid)), max(length(item_id)), sum(price) FROM read_parquet(${one}, file_row_number=true) ${where}`)).getRows();
    ts.push((performance.now() - t0) / 1000);
  }
  return stats(ts.map((t) => t * 1000)).replaceAll(' s', ' ms');
};
console.log(`DuckDB scan of ${ROWS.toLocaleString('en-US')} rows in ${groups} row groups (5 runs): whole file ${await scan('')}; ` +
  `one row group by a file_row_number range ${await scan(`WHERE file_row_number >= ${firstGroup} AND file_row_number < ${2 * firstGroup}`)}; ` +
  `file_row_number % 8 = 1 ${await scan('WHERE file_row_number % 8 = 1')}`);
con.closeSync();

function config(train: string): EsmmConfig {
  return parseConfig(
    {
      data: { train, holdout: 0 },
      schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['rid', 'user_id', 'item_id'], numeric: ['price'] },
      model: { name: 'esmm', embedding_dim: 4, tower: [8] },
      train: { epochs: 1, batch_size: 1024, seed: 1 },
    },
    'bench',
    dir,
  );
}

async function oldPath(cfg: EsmmConfig): Promise<number> {
  const data = await loadData(cfg.data, cfg.schema, { baseDir: cfg.baseDir });
  const features = prepareFeatures(cfg.schema, data, cfg.features);
  partitionRows(features.train, 0, N);
  return data.train.rows;
}

/** The last run's lines on the fit and the read of the share (where the time goes). */
let last: string[] = [];

async function newPath(cfg: EsmmConfig): Promise<number> {
  const r = await loadPartition(cfg, 0, N, (l) => {
    if (/features fitted|read [\d,]+ training rows/.test(l)) last.push(l.replace(/^worker \d+\/\d+: /, '').replace(/ \(the same spec.*/, ''));
  });
  return r.data.train.rows;
}

console.log(`${ROWS.toLocaleString('en-US')} rows, worker 0 of ${N}, ${REPEATS} interleaved repeats, load ${loadavg().map((l) => l.toFixed(1)).join(' ')} (a machine shared with other agents)`);
for (const [name, train] of [['4 Parquet files', 'many/*.parquet'], [`1 Parquet file, ${groups} row groups`, 'one/all.parquet'], ['1 CSV file', 'csv/all.csv']] as const) {
  const cfg = config(train);
  const times = { old: [] as number[], new: [] as number[] };
  const rows = { old: 0, new: 0 };
  for (let r = 0; r < REPEATS; r++) {
    for (const which of ['old', 'new'] as const) {
      const t0 = performance.now();
      if (which === 'new') last = [];
      rows[which] = await (which === 'old' ? oldPath(cfg) : newPath(cfg));
      times[which].push((performance.now() - t0) / 1000);
    }
  }
  console.log(`${name.padEnd(30)} all rows, then mod N: ${stats(times.old)}, ${rows.old.toLocaleString('en-US')} rows in JS | own share: ${stats(times.new)}, ${rows.new.toLocaleString('en-US')} rows in JS`);
  console.log(`${''.padEnd(30)} own share, last run: ${last.join('; ')}`);
}
console.log(`load after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
rmSync(dir, { recursive: true, force: true });
