import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import type { RawChunk } from '../../src/data/batch.js';
import type { Schema } from '../../src/data/schema.js';
import { UserError } from '../../src/errors.js';
import { findLeakage, guardLeakage } from '../../src/features/leakage-guard.js';
import { runCli, tempDir } from '../cli/helpers.js';

/** A deterministic pseudo-random stream (no Math.random in tests). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function chunk(rows: number, cols: { categorical?: Record<string, string[]>; numeric?: Record<string, number[]> }, click: number[], buy: number[]): RawChunk {
  return {
    rows,
    firstRow: 1,
    file: 'train.csv',
    labels: new Map([
      ['click', Uint8Array.from(click)],
      ['buy', Uint8Array.from(buy)],
    ]),
    categorical: new Map(Object.entries(cols.categorical ?? {})),
    multiValued: new Map(),
    numeric: new Map(Object.entries(cols.numeric ?? {}).map(([k, v]) => [k, Float64Array.from(v)])),
    truth: new Map(),
  };
}

function schemaFor(data: RawChunk, allow?: string[]): Schema {
  return {
    labels: { click: 'click', buy: 'buy' },
    categorical: [...data.categorical.keys()],
    numeric: [...data.numeric.keys()],
    ...(allow !== undefined ? { allow_leaky: allow } : {}),
  };
}

/** 2000 funnel rows: click ~ 30% (more likely in category c0), buy ~ 30% of clicks. */
function funnel(n = 2000) {
  const r = rng(7);
  const category: string[] = [];
  const click: number[] = [];
  const buy: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * 5);
    category.push(`c${c}`);
    const clicked = r() < (c === 0 ? 0.5 : 0.25) ? 1 : 0;
    click.push(clicked);
    buy.push(clicked === 1 && r() < 0.3 ? 1 : 0);
  }
  return { category, click, buy, r };
}

describe('findLeakage', () => {
  it('fires for a copy of a label, a label in disguise and a count of later events, in either direction', () => {
    const { category, click, buy, r } = funnel();
    const data = chunk(
      click.length,
      {
        categorical: {
          category,
          bought: buy.map(String),
          event_type: buy.map((b, i) => (b === 1 ? 'purchase' : click[i] === 1 ? 'cart' : 'view')),
        },
        numeric: {
          purchases: buy.map((b) => (b === 1 ? 1 + Math.floor(r() * 3) : 0)),
          seconds_to_leave: click.map((c) => (c === 1 ? 10 + r() * 50 : 100 + r() * 50)),
        },
      },
      click,
      buy,
    );
    const found = findLeakage(schemaFor(data), data).map((f) => `${f.column}/${f.label}/${f.kind}`);
    expect(found).toContain('bought/buy/identical');
    expect(found).toContain('event_type/click/separates');
    expect(found).toContain('event_type/buy/separates');
    expect(found).toContain('purchases/buy/separates');
    expect(found).toContain('seconds_to_leave/click/separates');
    expect(found.filter((f) => f.startsWith('category/'))).toEqual([]);
  });

  it('does not fire for clean features: a weak signal, an id per row, ids with few rows each', () => {
    const { category, click, buy, r } = funnel();
    const data = chunk(
      click.length,
      {
        categorical: {
          category,
          row_id: click.map((_, i) => `r${i}`),
          user_id: click.map((_, i) => `u${Math.floor(i / 2)}`),
        },
        numeric: { price: click.map(() => r() * 100) },
      },
      click,
      buy,
    );
    expect(findLeakage(schemaFor(data), data)).toEqual([]);
  });

  it('judges no label on a sample with too few rows of a class', () => {
    const click = [1, 0, 1, 0, 1, 0];
    const data = chunk(6, { categorical: { copy: click.map(String) } }, click, click);
    expect(findLeakage(schemaFor(data), data)).toEqual([]);
  });
});

describe('guardLeakage', () => {
  const { category, click, buy } = funnel();
  const data = chunk(click.length, { categorical: { category, event_type: buy.map((b) => (b === 1 ? 'purchase' : 'view')) } }, click, buy);

  it('stops with one line naming the column and the label', () => {
    let error: unknown;
    try {
      guardLeakage(schemaFor(data), data);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^train\.csv, column 'event_type': feature 'event_type' (is identical to|alone separates) label 'buy'.*schema\.allow_leaky/);
    expect((error as Error).message).not.toContain('\n');
  });

  it('lets an allow-listed column through, and says so', () => {
    const lines: string[] = [];
    const findings = guardLeakage(schemaFor(data, ['event_type']), data, { log: (l) => lines.push(l) });
    expect(findings.map((f) => f.column)).toEqual(['event_type']);
    expect(lines.join('\n')).toMatch(/'event_type'.*allowed by schema\.allow_leaky/);
  });
});

describe('esmm train on the natural-but-wrong event-log table', () => {
  const REES46 = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/events/rees46-sample.csv');

  async function sql(statement: string): Promise<void> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(statement);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  /**
   * What a user first writes by hand from the raw log: every event a row, labels from event_type,
   * and event_type itself left among the features (the stage-log way).
   */
  const eventRows = (file: string): Promise<void> =>
    sql(
      `COPY (SELECT CAST(event_type IN ('cart', 'purchase') AS INTEGER) AS cart, CAST(event_type = 'purchase' AS INTEGER) AS buy, ` +
        `CAST(user_id AS VARCHAR) AS user_id, CAST(product_id AS VARCHAR) AS product_id, brand, event_type, price ` +
        `FROM read_csv('${REES46}') ORDER BY event_time) TO '${file}' (HEADER)`,
    );

  /** Or one row per user x product with a count of the purchases next to the labels. */
  const unitRows = (file: string): Promise<void> =>
    sql(
      `COPY (SELECT CAST(bool_or(event_type IN ('cart', 'purchase')) AS INTEGER) AS cart, CAST(bool_or(event_type = 'purchase') AS INTEGER) AS buy, ` +
        `CAST(user_id AS VARCHAR) AS user_id, CAST(product_id AS VARCHAR) AS product_id, any_value(brand) AS brand, ` +
        `count(*) FILTER (WHERE event_type = 'purchase') AS purchases, avg(price) AS price ` +
        `FROM read_csv('${REES46}') GROUP BY user_id, product_id ORDER BY min(event_time), user_id, product_id) TO '${file}' (HEADER)`,
    );

  function config(dir: string, extra: { table: string; categorical: string[]; numeric: string[]; allow?: string[] }): string {
    const file = join(dir, `esmm-${extra.table}-${extra.categorical.length}-${extra.numeric.length}-${extra.allow?.length ?? 0}.yaml`);
    writeFileSync(
      file,
      [
        `data: { train: ${extra.table} }`,
        'schema:',
        '  labels: { click: cart, buy: buy }',
        `  categorical: [${extra.categorical.join(', ')}]`,
        `  numeric: [${extra.numeric.join(', ')}]`,
        '  group: user_id',
        ...(extra.allow !== undefined ? [`  allow_leaky: [${extra.allow.join(', ')}]`] : []),
        'model: { name: esmm, embedding_dim: 4, tower: [8] }',
        'train: { epochs: 1, batch_size: 64 }',
        '',
      ].join('\n'),
    );
    return file;
  }

  it('refuses event_type and a purchase count, trains when allowed or without them', async () => {
    const dir = tempDir('esmm-leak-');
    await eventRows(join(dir, 'events.csv'));
    await unitRows(join(dir, 'units.csv'));
    expect(readFileSync(join(dir, 'events.csv'), 'utf8')).toMatch(/^cart,buy,user_id,product_id,brand,event_type,price\n/);
    const train = (cfg: string) => runCli(['train', '--config', cfg, '--out', join(dir, 'model'), '--quiet']);

    const withEventType = await train(config(dir, { table: 'events.csv', categorical: ['user_id', 'brand', 'event_type'], numeric: ['price'] }));
    expect(withEventType.code).toBe(2);
    const errors = withEventType.stderr.trim().split('\n').filter((l) => l.includes('error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^esmm train: error: .*events\.csv, column 'event_type': feature 'event_type' alone separates label 'cart' \(single-feature AUC 1\.0000/);

    const withCount = await train(config(dir, { table: 'units.csv', categorical: ['user_id', 'brand'], numeric: ['price', 'purchases'] }));
    expect(withCount.code).toBe(2);
    expect(withCount.stderr).toMatch(/feature 'purchases' alone separates label 'buy'/);

    const allowed = await train(config(dir, { table: 'events.csv', categorical: ['user_id', 'brand', 'event_type'], numeric: ['price'], allow: ['event_type'] }));
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toMatch(/'event_type'.*allowed by schema\.allow_leaky/);

    for (const table of ['events.csv', 'units.csv']) {
      const clean = await train(config(dir, { table, categorical: ['user_id', 'product_id', 'brand'], numeric: ['price'] }));
      expect(clean.code).toBe(0);
      expect(clean.stderr).not.toMatch(/leakage guard|label in disguise/);
    }
  });

  it('refuses an allow_leaky entry that is not a feature, naming the key', async () => {
    const dir = tempDir('esmm-leak-key-');
    await unitRows(join(dir, 'units.csv'));
    const r = await runCli(['train', '--config', config(dir, { table: 'units.csv', categorical: ['user_id'], numeric: ['price'], allow: ['evnt_type'] }), '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/key 'schema\.allow_leaky\[0\]': 'evnt_type' is not a feature column/);
  });
});
