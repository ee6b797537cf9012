/**
 * Store workers on training files (issue 15):
 * - each worker reads only its own share: with 2 Parquet files worker 0 reads only file A
 *   (scanned rows = file A's), with one Parquet file of 4 row groups each worker scans only its 2
 *   groups, with one CSV file each keeps the rows mod 2 (DuckDB scans it all); the union of the
 *   partitions is every training row exactly once, held-out rows excluded (and read by worker 0
 *   alone to validate on), and worker 1 uses the FeatureSpec worker 0 fitted on all rows;
 * - on a real loopback cluster, 2 worker processes read their own file, stop early after the
 *   same epoch (train.early_stopping) and the saved model is the best epoch's.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/load-config.js';
import { loadPartition } from '../../src/api/load-partition.js';
import { trainAndEvaluate } from '../../src/api/pipeline.js';
import { shouldStream } from '../../src/api/stream-pipeline.js';
import { rawBytesPerRow } from '../../src/data/memory-budget.js';
import type { EsmmConfig } from '../../src/config/types.js';
import { connectDuckDB, sqlString } from '../../src/data/duckdb.js';
import { planPartitions, type FileInfo } from '../../src/distributed/partition-files.js';
import type { SpecExchange } from '../../src/distributed/spec-share.js';
import { LocalCluster, redisAvailable } from '../../src/distributed/local-cluster.js';
import { tempDir } from '../cli/helpers.js';
import { writeStreamParts } from '../train/stream-parts.js';
import { startBin } from './helpers.js';

const haveRedis = await redisAvailable();

function config(dir: string, train: string, data: Record<string, unknown> = {}, trainCfg: Record<string, unknown> = {}): EsmmConfig {
  return parseConfig(
    {
      data: { train, ...data },
      schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['rid', 'user_id'], numeric: ['price'] },
      model: { name: 'esmm', embedding_dim: 4, tower: [8] },
      train: { epochs: 1, batch_size: 128, seed: 3, ...trainCfg },
    },
    'test',
    dir,
  );
}

/** The row ids (`rid`) of both workers' partitions, and what each scanned and logged. */
async function partitions(cfg: EsmmConfig): Promise<{ ids: string[][]; scanned: number[]; logs: string[]; specs: string[]; validRows: number }> {
  const ids: string[][] = [];
  const scanned: number[] = [];
  const logs: string[] = [];
  const specs: string[] = [];
  let validRows = 0;
  // The store's exchange in memory: worker 0 fits and publishes, worker 1 takes what it published.
  const published = new Map<string, string>();
  const exchange: SpecExchange = { share: async (key, fit) => published.get(key) ?? published.set(key, await fit()).get(key)! };
  for (const w of [0, 1]) {
    const lines: string[] = [];
    const r = await loadPartition(cfg, w, 2, (l) => lines.push(l), exchange);
    ids.push([...r.data.train.categorical.get('rid')!]);
    scanned.push(r.data.stats.train.rows);
    logs.push(lines.join('\n'));
    specs.push(JSON.stringify(r.features.spec.toJSON()));
    if (w === 0) validRows = r.features.valid?.rows ?? 0;
    else expect(r.features.valid, 'only worker 0 reads the validation rows').toBeUndefined();
  }
  return { ids, scanned, logs, specs, validRows };
}

function expectEveryRowOnce(got: string[], rows: number): void {
  expect(got).toHaveLength(rows);
  expect(new Set(got).size).toBe(rows);
  for (let i = 0; i < rows; i += 997) expect(got).toContain(`r${i}`);
}

describe('planning the partitions', () => {
  const pq = (file: string, ...rowGroups: number[]): FileInfo => ({ file, parquet: true, bytes: 0, rowGroups });
  const show = (plan: ReturnType<typeof planPartitions>): string[] =>
    plan.map((ps) => ps.map((p) => (p.kind === 'whole' ? p.file : p.kind === 'range' ? `${p.file}[${p.start},${p.end})` : `${p.file}%${p.of}=${p.is}`)).join(' '));

  it('Parquet: the files as one sequence of rows in equal contiguous ranges, whole files where a range covers one', () => {
    expect(show(planPartitions([pq('a', 1000, 1000), pq('b', 2000)], 2))).toEqual(['a', 'b']);
    expect(show(planPartitions([pq('a', 100), pq('b', 100), pq('c', 100)], 2))).toEqual(['a b[0,50)', 'b[50,100) c']);
    expect(show(planPartitions([pq('a', 2048, 2048, 2048, 2048)], 2))).toEqual(['a[0,4096)', 'a[4096,8192)']);
    expect(show(planPartitions([pq('a', 100)], 3))).toEqual(['a[0,33)', 'a[33,66)', 'a[66,100)']);
  });

  it('text files: whole files balanced by bytes, or rows mod N when there are fewer files than workers', () => {
    const txt = (file: string, bytes: number): FileInfo => ({ file, parquet: false, bytes });
    expect(show(planPartitions([txt('a', 100), txt('b', 50), txt('c', 60)], 2))).toEqual(['a', 'b c']);
    expect(show(planPartitions([txt('a', 100)], 2))).toEqual(['a%2=0', 'a%2=1']);
  });
});

describe('each store worker reads only its own share of the training files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('esmm-partition-');
    for (const d of ['two', 'one', 'csv', 'timed']) mkdirSync(join(dir, d));
    await writeStreamParts(join(dir, 'two'), 2, 3000); // part-0, part-1: rows r0..r5999, row groups of 1000
    await writeStreamParts(join(dir, 'one'), 1, 8192); // 4 row groups of 2048 (DuckDB rounds 1000 up to its vector size)
    const con = await connectDuckDB();
    try {
      await con.run(`COPY (SELECT * FROM read_parquet(${sqlString(join(dir, 'two', 'part-*.parquet'))})) TO ${sqlString(join(dir, 'csv', 'all.csv'))} (HEADER)`);
    } finally {
      con.closeSync();
    }
  });

  it('2 Parquet files: worker 0 reads only file A, worker 1 only file B; together every row once, one FeatureSpec', async () => {
    const p = await partitions(config(dir, 'two/*.parquet', { holdout: 0 }));
    expect(p.logs[0]).toContain('reading its share of the training data: part-0.parquet\n');
    expect(p.logs[1]).toContain('reading its share of the training data: part-1.parquet\n');
    expect(p.scanned).toEqual([3000, 3000]);
    expect(p.ids[0]!.every((id) => Number(id.slice(1)) < 3000)).toBe(true);
    expectEveryRowOnce([...p.ids[0]!, ...p.ids[1]!], 6000);
    expect(p.logs[0]).toContain('worker 0/2: features fitted with DuckDB on all 6,000 rows of 2 training files');
    expect(p.logs[1]).toContain('worker 1/2: feature spec from worker 0 (fitted on all 6,000 rows of 2 training files)');
    expect(p.specs[1]).toBe(p.specs[0]);
    // The spec is fitted on all rows: worker 1 knows the ids only worker 0 reads.
    expect(p.specs[1]).toContain('"r0"');
  });

  it('1 Parquet file of 4 row groups: each worker scans only its 2 row groups', async () => {
    const con = await connectDuckDB();
    const groups = await (await con.run(`SELECT DISTINCT row_group_id FROM parquet_metadata(${sqlString(join(dir, 'one', 'part-0.parquet'))})`)).getRows();
    con.closeSync();
    expect(groups).toHaveLength(4);
    const p = await partitions(config(dir, 'one/part-0.parquet', { holdout: 0 }));
    expect(p.logs[1]).toContain('part-0.parquet rows 4,096-8,191');
    expect(p.scanned).toEqual([4096, 4096]);
    expectEveryRowOnce([...p.ids[0]!, ...p.ids[1]!], 8192);
  });

  it('1 CSV file: each worker keeps the rows mod 2 (DuckDB scans the whole file)', async () => {
    const p = await partitions(config(dir, 'csv/all.csv', { holdout: 0 }));
    expect(p.logs[0]).toContain('all.csv rows mod 2 = 0');
    expect(p.scanned).toEqual([6000, 6000]);
    expect(p.ids[0]).toHaveLength(3000);
    expectEveryRowOnce([...p.ids[0]!, ...p.ids[1]!], 6000);
  });

  it("train.memory_budget is judged on a worker's share of the files, and streaming with --store is refused in one line", async () => {
    const bytes = 6000 * rawBytesPerRow(config(dir, 'two/*.parquet').schema, 0);
    const budget = { memory_budget: Math.round(bytes * 0.75) };
    const cfg = config(dir, 'two/*.parquet', { holdout: 0 }, budget);
    expect(await shouldStream(cfg)).toBe(true);
    expect(await shouldStream(cfg, undefined, 2)).toBe(false);
    const streaming = config(dir, 'two/*.parquet', { holdout: 0 }, { streaming: true });
    await expect(trainAndEvaluate(streaming, { distributed: { store: 'redis://127.0.0.1:1', worker: 0, workers: 2, runId: 'x' } })).rejects.toThrow(
      /^key 'train.streaming': streaming training cannot be combined with --store yet; each worker holds its own share/,
    );
  });

  it('a hold-out by time: every worker leaves out the same latest rows', async () => {
    await writeStreamParts(join(dir, 'timed'), 2, 3000, true);
    const cfg = parseConfig(
      {
        data: { train: 'timed/*.parquet', holdout: { fraction: 0.2, seed: 1, time_column: 'ts' } },
        schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['rid', 'user_id'], numeric: ['price', 'ts'] },
        model: { name: 'esmm', embedding_dim: 4, tower: [8] },
        train: { epochs: 1, batch_size: 128, seed: 3 },
      },
      'test',
      dir,
    );
    const p = await partitions(cfg);
    const trained = [...p.ids[0]!, ...p.ids[1]!];
    expect(new Set(trained).size).toBe(trained.length);
    expect(p.validRows).toBeGreaterThanOrEqual(1200);
    expect(trained.length + p.validRows).toBe(6000);
  });

  it('without a validation file: held-out rows are trained on by nobody and validated on by worker 0', async () => {
    const p = await partitions(config(dir, 'two/*.parquet', { holdout: { fraction: 0.2, seed: 1 } }));
    expect(p.validRows).toBeGreaterThan(900);
    expect(p.validRows).toBeLessThan(1500);
    // The training partitions are disjoint and, with the held-out rows, make up every row.
    const trained = [...p.ids[0]!, ...p.ids[1]!];
    expect(new Set(trained).size).toBe(trained.length);
    expect(trained.length + p.validRows).toBe(6000);
  });
});

describe.skipIf(!haveRedis)('2 store workers on 2 Parquet files (skipped without redis-server)', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await LocalCluster.start(3, 1);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('each reads its own file; both stop early after the same epoch; the saved model is the best epoch', async () => {
    const dir = tempDir('esmm-partition-es-');
    mkdirSync(join(dir, 'days'));
    await writeStreamParts(join(dir, 'days'), 3, 3000); // part-2 is the validation file
    const cfgFile = join(dir, 'es.yaml');
    // Labels are noise and every row has its own id (rid): a high rate overfits within a few epochs,
    // so validation logloss worsens and patience 1 stops the run well before epoch 12.
    writeFileSync(cfgFile, [
      "data: { train: 'days/part-[01].parquet', valid: days/part-2.parquet }",
      'schema: { labels: { click: click, buy: buy }, categorical: [rid, user_id], numeric: [price] }',
      'model: { name: esmm, embedding_dim: 4, tower: [8] }',
      'train: { epochs: 12, batch_size: 128, learning_rate: 0.05, seed: 3, early_stopping: { metric: logloss_ctr, patience: 1 } }',
      '',
    ].join('\n'));
    const out = join(dir, 'm');
    const args = (i: number): string[] => ['train', '--config', cfgFile, '--out', out, '--quiet', '--store', cluster.url, '--run-id', 'es', '--worker', `${i}/2`];
    const [r0, r1] = await Promise.all([startBin(args(0)).done, startBin(args(1)).done]);
    expect(r0.code, r0.stderr).toBe(0);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r0.stderr).toContain('worker 0/2: reading its share of the training data: part-0.parquet\n');
    expect(r1.stderr).toContain('worker 1/2: reading its share of the training data: part-1.parquet\n');
    expect(r1.stderr).toContain('worker 1/2: feature spec from worker 0 (fitted on all 6,000 rows of 2 training files)');
    expect(r0.stderr).toContain('worker 0/2: read 3,000 training rows of its partition (3,000 rows scanned');

    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as {
      metrics: Record<string, number>;
      history: { epoch: number; valid: Record<string, number> }[];
      best_epoch: number;
      kept_epoch: number;
      stopped_early: boolean;
      evaluated_on: string;
    };
    const epochs = m.history.length;
    expect(m.stopped_early).toBe(true);
    expect(epochs).toBeLessThan(12);
    // Worker 1 ran exactly as many epochs as worker 0 validated.
    expect(r1.stderr).toContain(`worker 1/2: early stop after epoch ${epochs} of 12 (decided by worker 0)`);
    expect(r0.stderr).toContain(`worker 0/2: early stop after epoch ${epochs} of 12`);
    const losses = m.history.map((h) => h.valid.logloss_ctr!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(m.best_epoch).toBe(best);
    expect(m.kept_epoch).toBe(best);
    expect(best).toBeLessThan(epochs);
    // The saved model scores the validation split exactly as the best epoch did (not as the last).
    expect(m.evaluated_on).toBe('valid');
    expect(m.metrics.logloss_ctr).toBe(losses[best - 1]);
    expect(m.metrics.logloss_ctr).not.toBe(losses[epochs - 1]);
  });
});
