/**
 * The whole path a user takes with a raw event log: esmm convert events -> esmm train --config
 * DIR/esmm.yaml -> esmm predict on a copy without labels -> esmm eval, for each log format.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/events');

async function run(sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(sql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function convertTrainPredictEval(dir: string, convertArgs: string[], labels: string[]): Promise<{ convert: string; metrics: Record<string, number>; yaml: string }> {
  const out = join(dir, 'rows');
  const model = join(dir, 'model');
  const convert = await runCli(['convert', 'events', ...convertArgs, '--out', out, '--quiet']);
  expect(convert.stderr).toBe('');
  expect(convert.code).toBe(0);
  expect(convert.stdout).toMatch(/entry stage: /);
  expect(convert.stdout).toMatch(/train +\d+/);

  const train = await runCli(['train', '--config', join(out, 'esmm.yaml'), '--out', model, '--epochs', '1', '--quiet']);
  expect(train.code).toBe(0);

  const unlabeled = join(dir, 'to-score.parquet');
  await run(`COPY (SELECT * EXCLUDE (${labels.join(', ')}) FROM read_parquet('${join(out, 'test.parquet')}')) TO '${unlabeled}' (FORMAT parquet)`);
  const scores = join(dir, 'scores.csv');
  const predict = await runCli(['predict', '--model', model, '--data', unlabeled, '--out', scores]);
  expect(predict.code).toBe(0);
  const lines = readFileSync(scores, 'utf8').trim().split('\n');
  expect(lines[0]).toMatch(/^pctr,pcvr,pctcvr/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  expect(lines).toHaveLength(summary.splits.test.rows + 1);

  const json = join(dir, 'eval.json');
  const evaluated = await runCli(['eval', '--model', model, '--data', join(out, 'test.parquet'), '--json', json]);
  expect(evaluated.code).toBe(0);
  const metrics = JSON.parse(readFileSync(json, 'utf8'));
  expect(metrics.auc_ctr).toBeGreaterThan(0);
  expect(metrics.groups_ctr).toBeGreaterThan(0);
  return { convert: convert.stdout, metrics, yaml: readFileSync(join(out, 'esmm.yaml'), 'utf8') };
}

describe('esmm convert events -> train -> predict -> eval', () => {
  it('Taobao UserBehavior (--preset taobao)', async () => {
    const r = await convertTrainPredictEval(tempDir('esmm-flow-taobao-'), ['--preset', 'taobao', '--input', join(FIXTURES, 'taobao-sample.csv')], ['cart_or_fav', 'buy']);
    expect(r.convert).toMatch(/entry stage: click \(pv; the log has no exposure events\)/);
    expect(r.convert).toMatch(/out of order \(policy imply\): no entry event \(pv\) before a later stage: \d+, buy without cart_or_fav: \d+/);
  });

  it('REES46 (--preset rees46, --out-of-order drop)', async () => {
    const r = await convertTrainPredictEval(
      tempDir('esmm-flow-rees46-'),
      ['--preset', 'rees46', '--input', join(FIXTURES, 'rees46-sample.csv'), '--out-of-order', 'drop'],
      ['cart', 'buy'],
    );
    expect(r.convert).toMatch(/entry stage: click \(view/);
    expect(r.convert).toMatch(/dropped \d+/);
    expect(r.yaml).toMatch(/numeric:\n\s+- price/);
  });

  it('a generic log with exposures: flags name the columns and the stage map, ESM2 actions set', async () => {
    const dir = tempDir('esmm-flow-generic-');
    // The Taobao fixture as a shop's own log: a header, other names, an impression before each
    // pv and extra impressions nobody clicked; cart and fav are post-click actions.
    const log = ['ts,visitor,sku,action,cat'];
    readFileSync(join(FIXTURES, 'taobao-sample.csv'), 'utf8')
      .trim()
      .split('\n')
      .forEach((line, n) => {
        const [u, i, c, b, t] = line.split(',');
        const name = b === 'pv' ? 'click' : b === 'buy' ? 'order' : b;
        if (b === 'pv') log.push(`${Number(t) - 5},${u},${i},impression,${c}`);
        if (n % 2 === 0) log.push(`${Number(t) - 7},${u},${Number(i) + 1},impression,${c}`);
        log.push(`${t},${u},${i},${name},${c}`);
      });
    const file = join(dir, 'shop-log.csv');
    writeFileSync(file, `${log.join('\n')}\n`);
    const flags = ['--input', file, '--user', 'visitor', '--item', 'sku', '--event', 'action', '--time', 'ts', '--categorical', 'cat'];
    const stages = ['--exposure', 'impression', '--click', 'click', '--action', 'cart=cart', '--action', 'fav=fav', '--buy', 'order'];
    const r = await convertTrainPredictEval(dir, [...flags, ...stages], ['click', 'cart', 'fav', 'buy']);
    expect(r.convert).toMatch(/entry stage: exposure \(impression\)/);
    expect(r.yaml).toMatch(/actions:\n\s+- cart\n\s+- fav/);
    expect(r.yaml).toMatch(/name: esm2/);
  });

  it('one line for bad flags: unknown preset, missing columns, no actions with a click entry', async () => {
    const dir = tempDir('esmm-flow-bad-');
    const input = join(FIXTURES, 'rees46-sample.csv');
    const cases: [string[], RegExp][] = [
      [['--preset', 'criteo', '--input', input], /unknown preset 'criteo'/],
      [['--preset', 'rees46', '--input', input, '--item', 'sku'], /no item column 'sku'; the file has: event_time/],
      [['--preset', 'rees46', '--input', input, '--action', 'cart'], /--action expects NAME=EVENTS/],
      [['--input', input, '--user', 'user_id', '--item', 'product_id', '--event', 'event_type', '--time', 'event_time', '--click', 'view', '--buy', 'purchase'], /needs at least one --action/],
      [['--preset', 'rees46', '--input', input, '--split', '0.8,0.3,0.1'], /adding up to 1/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['convert', 'events', ...args, '--out', join(dir, 'out'), '--quiet']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
