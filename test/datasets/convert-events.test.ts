import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertEvents, type ConvertEventsOptions } from '../../src/datasets/events/convert-events.js';
import { eventPreset } from '../../src/datasets/events/event-presets.js';
import { expectUserError } from './helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/events');
const TAOBAO = path.join(FIXTURES, 'taobao-sample.csv');
const REES46 = path.join(FIXTURES, 'rees46-sample.csv');

type Row = Record<string, string | number | null>;

async function query(sql: string): Promise<Row[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Row[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const readSplit = (dir: string, split: string): Promise<Row[]> => query(`SELECT * FROM read_parquet('${path.join(dir, `${split}.parquet`)}')`);

/** An independent oracle: the Taobao fixture grouped per user x item in plain TypeScript. */
interface OracleUnit {
  pv: boolean;
  engaged: boolean;
  buy: boolean;
  firstPv: number;
  first: number;
}
async function taobaoUnits(): Promise<Map<string, OracleUnit>> {
  const units = new Map<string, OracleUnit>();
  for (const line of (await readFile(TAOBAO, 'utf8')).trim().split('\n')) {
    const [user, item, , behavior, ts] = line.split(',');
    const key = `${user}|${item}`;
    const t = Number(ts);
    const u = units.get(key) ?? { pv: false, engaged: false, buy: false, firstPv: Infinity, first: Infinity };
    if (behavior === 'pv') {
      u.pv = true;
      u.firstPv = Math.min(u.firstPv, t);
    }
    if (behavior === 'cart' || behavior === 'fav') u.engaged = true;
    if (behavior === 'buy') u.buy = true;
    u.first = Math.min(u.first, t);
    units.set(key, u);
  }
  return units;
}

describe('convertEvents on the Taobao fixture', () => {
  let dir: string;
  const run = (name: string, extra: Partial<ConvertEventsOptions> = {}) =>
    convertEvents({ input: TAOBAO, outDir: path.join(dir, name), spec: eventPreset('taobao'), preset: 'taobao', ...extra });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'esmm-events-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('counts each out-of-order case and applies keep, imply and drop', async () => {
    const oracle = [...(await taobaoUnits()).values()];
    const noEntry = oracle.filter((u) => !u.pv).length;
    const buyWithoutEngage = oracle.filter((u) => u.buy && !u.engaged).length;
    const broken = oracle.filter((u) => !u.pv || (u.buy && !u.engaged)).length;
    expect(noEntry).toBeGreaterThan(0);
    expect(buyWithoutEngage).toBeGreaterThan(0);

    for (const policy of ['keep', 'imply', 'drop'] as const) {
      const out = path.join(dir, policy);
      const summary = await run(policy, { outOfOrder: policy });
      expect(summary.entry).toMatch(/^click \(pv/);
      expect(summary.labels).toEqual({ click: 'cart_or_fav', actions: [], buy: 'buy' });
      expect(summary.units).toBe(oracle.length);
      expect(summary.out_of_order.cases).toEqual({
        'no entry event (pv) before a later stage': noEntry,
        'buy without cart_or_fav': buyWithoutEngage,
      });
      const rows = [...(await readSplit(out, 'train')), ...(await readSplit(out, 'valid')), ...(await readSplit(out, 'test'))];
      const expected = policy === 'drop' ? oracle.filter((u) => u.pv && !(u.buy && !u.engaged)) : oracle;
      expect(rows).toHaveLength(expected.length);
      const clicks = rows.filter((r) => Number(r.cart_or_fav) === 1).length;
      const buys = rows.filter((r) => Number(r.buy) === 1).length;
      const breaking = rows.filter((r) => Number(r.buy) === 1 && Number(r.cart_or_fav) === 0).length;
      expect(buys).toBe(expected.filter((u) => u.buy).length);
      if (policy === 'imply') expect(clicks).toBe(expected.filter((u) => u.engaged || u.buy).length);
      else expect(clicks).toBe(expected.filter((u) => u.engaged).length);
      expect(breaking).toBe(policy === 'keep' ? buyWithoutEngage : 0);
      const yaml = await readFile(path.join(out, 'esmm.yaml'), 'utf8');
      expect(yaml.includes('skip_invalid: true')).toBe(policy === 'keep');
      expect(summary.out_of_order.dropped).toBe(policy === 'drop' ? broken : 0);
    }
  });

  it('writes only labels and features known at the first pv, and a config that names them', async () => {
    const out = path.join(dir, 'columns');
    await run('columns');
    const [row] = await readSplit(out, 'train');
    expect(Object.keys(row!)).toEqual(['cart_or_fav', 'buy', 'user_id', 'item_id', 'category_id', 'entry_hour', 'entry_weekday']);
    const yaml = await readFile(path.join(out, 'esmm.yaml'), 'utf8');
    expect(yaml).toMatch(/click: cart_or_fav/);
    expect(yaml).toMatch(/group: user_id/);
    expect(yaml).toMatch(/name: esmm/);
  });

  it('splits by each unit’s first entry time: fractions and cut-off dates', async () => {
    const oracle = [...(await taobaoUnits()).values()];
    const summary = await run('fractions', { split: { kind: 'fractions', train: 0.6, valid: 0.2, test: 0.2 } });
    const { train, valid, test } = summary.splits;
    expect(train.rows + valid.rows + test.rows).toBe(oracle.length);
    expect(train.rows / oracle.length).toBeGreaterThan(0.55);
    expect(train.rows / oracle.length).toBeLessThan(0.65);
    expect(train.to! < valid.from!).toBe(true);
    expect(valid.to! < test.from!).toBe(true);

    const validFrom = '2017-11-30 00:00:00';
    const testFrom = '2017-12-02';
    const byDate = await run('dates', { split: { kind: 'dates', validFrom, testFrom } });
    const time = (u: OracleUnit) => (u.pv ? u.firstPv : u.first);
    const cut1 = Date.parse(`${validFrom}Z`) / 1000;
    const cut2 = Date.parse(`${testFrom}T00:00:00Z`) / 1000;
    expect(byDate.splits.train.rows).toBe(oracle.filter((u) => time(u) < cut1).length);
    expect(byDate.splits.valid.rows).toBe(oracle.filter((u) => time(u) >= cut1 && time(u) < cut2).length);
    expect(byDate.splits.test.rows).toBe(oracle.filter((u) => time(u) >= cut2).length);
    await expectUserError(run('dates-empty', { split: { kind: 'dates', validFrom: '2030-01-01', testFrom: '2031-01-01' } }));
  });

  it('refuses a folder holding files esmm did not write, and reruns into its own folder', async () => {
    const out = path.join(dir, 'foreign');
    await mkdir(out);
    await writeFile(path.join(out, 'notes.txt'), 'mine');
    const error = await expectUserError(run('foreign'));
    expect(error.message).toMatch(/notes\.txt.*did not write/);
    expect(await readFile(path.join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(path.join(out, 'train.parquet'))).toBe(false);

    await run('again');
    await run('again', { outOfOrder: 'drop' });
    expect(existsSync(path.join(dir, 'again', 'train.parquet'))).toBe(true);
    expect((await import('node:fs')).readdirSync(path.join(dir, 'again')).filter((f) => f.includes('esmm-work') || f.endsWith('.tmp'))).toEqual([]);
  });

  it('names the file, row and column of an unusable event, or skips and counts it', async () => {
    const lines = (await readFile(TAOBAO, 'utf8')).split('\n');
    const parts = lines[4]!.split(',');
    parts[4] = 'yesterday';
    lines[4] = parts.join(',');
    const broken = path.join(dir, 'broken.csv');
    await writeFile(broken, lines.join('\n'));
    const error = await expectUserError(convertEvents({ input: broken, outDir: path.join(dir, 'broken'), spec: eventPreset('taobao') }));
    expect(error.message).toContain('broken.csv, row 5');
    expect(error.location.column).toBe('timestamp');
    const skipped = await convertEvents({ input: broken, outDir: path.join(dir, 'skipped'), spec: eventPreset('taobao'), skipInvalid: true });
    expect(skipped.events.skipped_invalid).toBe(1);
  });
});

describe('convertEvents on the REES46 fixture', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'esmm-rees46-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads text timestamps, ignores unmapped events and carries attributes as features', async () => {
    const out = path.join(dir, 'user-item');
    const summary = await convertEvents({ input: REES46, outDir: out, spec: eventPreset('rees46'), outOfOrder: 'keep' });
    expect(summary.events.by_name).toMatchObject({ remove_from_cart: 15 });
    expect(summary.events.ignored_unmapped).toBe(15);
    expect(summary.labels).toEqual({ click: 'cart', actions: [], buy: 'buy' });
    expect(summary.splits.train.from).toMatch(/^2019-10-01T/);
    // Every purchase without a cart in the log is counted (oracle: SQL over the raw file).
    const [expected] = await query(
      `SELECT count(*) AS n FROM (SELECT user_id, product_id FROM read_csv('${REES46}') GROUP BY ALL ` +
        `HAVING bool_or(event_type = 'purchase') AND NOT bool_or(event_type = 'cart'))`,
    );
    expect(summary.out_of_order.cases['buy without cart']).toBe(Number(expected!.n));
    const [row] = await readSplit(out, 'train');
    expect(Object.keys(row!)).toEqual(['cart', 'buy', 'user_id', 'product_id', 'category_id', 'category_code', 'brand', 'entry_hour', 'entry_weekday', 'price']);
    expect(typeof row!.price).toBe('number');
  });

  it('makes one row per session x item with --unit session-item', async () => {
    const out = path.join(dir, 'session');
    const summary = await convertEvents({ input: REES46, outDir: out, spec: eventPreset('rees46'), unit: 'session-item' });
    const [expected] = await query(
      `SELECT count(*) AS n FROM (SELECT DISTINCT user_session, product_id FROM read_csv('${REES46}') WHERE event_type <> 'remove_from_cart')`,
    );
    expect(summary.units).toBe(Number(expected!.n));
    const rows = await readSplit(out, 'test');
    expect(Object.keys(rows[0]!)).toContain('user_session');
  });
});

describe('convertEvents on a generic log with exposures', () => {
  const spec = (entry: 'exposure' | 'click') => ({
    header: true,
    columns: { user: 'u', item: 'i', event: 'ev', time: 't', categorical: [], numeric: [] },
    exposure: ['imp'],
    click: ['clk'],
    actions: [{ name: 'cart', events: ['add'] }],
    buy: ['pay'],
    entry,
    timeUnit: 'ms' as const,
  });

  it('rows are exposed units (entry exposure) or clicked units (entry click); times in ms', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'esmm-generic-'));
    try {
      const lines = ['u,i,ev,t'];
      // 12 users x 3 items: every unit exposed, a third clicked, some carts and buys.
      for (let u = 0; u < 12; u++) {
        for (let i = 0; i < 3; i++) {
          const t = 1_700_000_000_000 + (u * 3 + i) * 60_000;
          lines.push(`u${u},i${i},imp,${t}`);
          if ((u + i) % 3 === 0) lines.push(`u${u},i${i},clk,${t + 1000}`);
          if ((u + i) % 6 === 0) lines.push(`u${u},i${i},add,${t + 2000}`);
          if ((u + i) % 6 === 0 && u % 2 === 0) lines.push(`u${u},i${i},pay,${t + 3000}`);
        }
      }
      const file = path.join(dir, 'log.csv');
      await writeFile(file, `${lines.join('\n')}\n`);
      const exposed = await convertEvents({ input: file, outDir: path.join(dir, 'exposure'), spec: spec('exposure') });
      expect(exposed.units).toBe(36);
      expect(exposed.labels).toEqual({ click: 'click', actions: ['cart'], buy: 'buy' });
      expect(exposed.model).toBe('esm2');
      expect(exposed.splits.train.from).toMatch(/^2023-11-14T/);
      const clicked = await convertEvents({ input: file, outDir: path.join(dir, 'click'), spec: spec('click') });
      expect(clicked.units).toBe(12);
      expect(clicked.events.ignored_unmapped).toBe(36);
      expect(clicked.labels).toEqual({ click: 'cart', actions: [], buy: 'buy' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('convertEvents on a Taobao file that has a header line', () => {
  it('says the first line looks like a header', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'esmm-header-'));
    try {
      const file = path.join(dir, 'with-header.csv');
      await writeFile(file, `user_id,item_id,category_id,behavior,timestamp\n${await readFile(TAOBAO, 'utf8')}`);
      const error = await expectUserError(convertEvents({ input: file, outDir: path.join(dir, 'out'), spec: eventPreset('taobao') }));
      expect(error.message).toMatch(/row 1, column 'timestamp': .*is the first line a header\?/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
