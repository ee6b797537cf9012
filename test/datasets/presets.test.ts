import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureColumns, labelColumns, requiredColumns, type Schema } from '../../src/data/schema.js';
import { UserError } from '../../src/errors.js';
import { aliCcpSchema } from '../../src/datasets/ali-ccp-fields.js';
import { convertAliCcp } from '../../src/datasets/convert-ali-ccp.js';
import { materializePreset, preparePreset } from '../../src/datasets/materialize-preset.js';
import { getPreset, listPresets } from '../../src/datasets/presets.js';
import { expectUserError } from './helpers.js';

// The public samples live beside the repository (../shared/data from its root), not in it.
const DATA = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'data');
const HAVE_DATA = existsSync(DATA);
const SKIPPED = HAVE_DATA ? '' : ` (skipped: no shared data at ${DATA})`;
/** Suites reading the shared samples: skipped, with the reason in their title, when absent. */
const withData = HAVE_DATA ? describe : describe.skip;
if (!HAVE_DATA) console.warn(`test/datasets/presets.test.ts: the shared samples are absent at ${DATA}; their suites are skipped`);
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/ali-ccp-raw');
const PLAIN = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Summary {
  rows: number;
  clicks: number;
  buys: number;
  columns: string[];
}

async function summarize(file: string): Promise<Summary> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const source = `read_parquet('${file}')`;
    const [rows, clicks, buys] = (await connection.runAndReadAll(`SELECT count(*), sum(click), sum(buy) FROM ${source}`)).getRows()[0]!;
    const columns = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRows().map((r) => String(r[0]));
    return { rows: Number(rows), clicks: Number(clicks), buys: Number(buys), columns };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The schema's columns are plain identifiers and all present in the file. */
function expectSchemaMatchesFile(schema: Schema, columns: string[]): void {
  for (const column of requiredColumns(schema)) {
    expect(column).toMatch(PLAIN);
    expect(columns).toContain(column);
  }
  for (const label of labelColumns(schema)) expect(featureColumns(schema)).not.toContain(label);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'esmm-presets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('preset registry', () => {
  it('lists the presets and refuses an unknown name, naming the known ones', () => {
    expect(listPresets().map((p) => p.name)).toEqual([
      'ali-ccp',
      'ali-ccp-csv',
      'paddlerec-ali-ccp',
      'aliexpress',
      'census-income',
      'census-income-raw',
      'adult',
      'stage-log',
    ]);
    expect(getPreset('adult').name).toBe('adult');
    expect(() => getPreset('criteo')).toThrow(UserError);
    expect(() => getPreset('criteo')).toThrow(/known: ali-ccp, ali-ccp-csv, paddlerec-ali-ccp, aliexpress, census-income, census-income-raw, adult, stage-log/);
  });
});

withData(`ali-ccp-csv${SKIPPED}`, () => {
  it('materialises the sample (100 rows: click 7, purchase 1), fields renamed f101..', async () => {
    const { file, schema } = await preparePreset('ali-ccp-csv', `${DATA}/ali-ccp-csv/train.csv`, dir);
    const summary = await summarize(file);
    expect(summary).toMatchObject({ rows: 100, clicks: 7, buys: 1 });
    expect(schema.categorical).toHaveLength(23);
    expect(schema.categorical).toContain('f109_14');
    expect(schema.numeric).toEqual(['D109_14', 'D110_14', 'D127_14', 'D150_14', 'D508', 'D509', 'D702', 'D853']);
    expectSchemaMatchesFile(schema, summary.columns);
  });

  it('names the file and data row of a label that is not 0/1', async () => {
    const lines = (await readFile(`${DATA}/ali-ccp-csv/train.csv`, 'utf8')).split('\n');
    lines[3] = lines[3]!.replace(/^[01],/, '2,');
    const file = path.join(dir, 'bad-click.csv');
    await writeFile(file, lines.join('\n'));
    const error = await expectUserError(materializePreset('ali-ccp-csv', file, dir));
    expect(error.location).toMatchObject({ file, row: 3 });
    expect(error.message).toContain("'click' must be 0 or 1");
  });
});

withData(`census-income${SKIPPED}`, () => {
  it('click = income, buy = income * never married; neither label is a feature', async () => {
    const { file, schema } = await preparePreset('census-income', `${DATA}/census-income/train.csv`, dir);
    const summary = await summarize(file);
    // The sample has 5 incomes > 50K and none of them never married (see PROVENANCE.md counts).
    expect(summary).toMatchObject({ rows: 80, clicks: 5, buys: 0 });
    expect(summary.columns).not.toContain('marital_status');
    expect(summary.columns).not.toContain('income');
    expect(schema.categorical).toContain('class_of_worker');
    expect(schema.numeric).toContain('weeks_worked_in_year');
    expect(schema.categorical.length + (schema.numeric ?? []).length).toBe(39);
    expectSchemaMatchesFile(schema, summary.columns);
  });

  it('lists the missing columns of a file that is not census-income', async () => {
    const error = await expectUserError(materializePreset('census-income', `${DATA}/ali-ccp-csv/valid.csv`, dir));
    expect(error.message).toContain("'income'");
    expect(error.location.file).toBe(`${DATA}/ali-ccp-csv/valid.csv`);
  });
});

withData(`adult${SKIPPED}`, () => {
  /** Counts straight from the text file, independently of DuckDB. */
  function countAdult(file: string): Summary {
    const rows = readFileSync(file, 'utf8').split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.split(', '));
    const rich = rows.filter((r) => r[14]!.replace('.', '') === '>50K');
    return { rows: rows.length, clicks: rich.length, buys: rich.filter((r) => r[5] === 'Never-married').length, columns: [] };
  }

  it('adult.data: about 24% > 50K; buy = > 50K and never married; marital-status is not a feature', async () => {
    const { file, schema } = await preparePreset('adult', `${DATA}/adult/adult.data`, dir);
    const summary = await summarize(file);
    const expected = countAdult(`${DATA}/adult/adult.data`);
    expect(summary).toMatchObject({ rows: 32561, clicks: expected.clicks, buys: expected.buys });
    expect(summary.clicks / summary.rows).toBeCloseTo(0.2408, 3);
    expect(summary.buys).toBeGreaterThan(0);
    expect(summary.columns).not.toContain('marital_status');
    expect(featureColumns(schema)).not.toContain('marital_status');
    expect(schema.numeric).toEqual(['age', 'fnlwgt', 'education_num', 'capital_gain', 'capital_loss', 'hours_per_week']);
    expectSchemaMatchesFile(schema, summary.columns);
  });

  it("adult.test: labels with a trailing period; '?' read as missing", async () => {
    const file = await materializePreset('adult', `${DATA}/adult/adult.test`, dir);
    const summary = await summarize(file);
    const expected = countAdult(`${DATA}/adult/adult.test`);
    expect(summary).toMatchObject({ rows: 16281, clicks: expected.clicks, buys: expected.buys });
    expect(summary.clicks / summary.rows).toBeCloseTo(0.236, 2);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const [questionMarks, missing] = (
      await connection.runAndReadAll(`SELECT count(*) FILTER (workclass = '?'), count(*) FILTER (workclass IS NULL) FROM read_parquet('${file}')`)
    ).getRows()[0]!;
    connection.closeSync();
    instance.closeSync();
    expect(Number(questionMarks)).toBe(0);
    expect(Number(missing)).toBeGreaterThan(0);
  });
});

describe('stage-log', () => {
  it('derives click = stage >= 1 and buy = stage >= 2, with the other columns as features', async () => {
    const file = path.join(dir, 'log.csv');
    await writeFile(file, 'user_id,item id,price,stage\nu1,i1,1.5,0\nu1,i2,2.5,1\nu2,i1,1.5,2\nu3,i3,3.0,0\nu3,i1,1.5,2\n');
    const { file: out, schema } = await preparePreset('stage-log', file, dir);
    expect(await summarize(out)).toMatchObject({ rows: 5, clicks: 3, buys: 2, columns: ['click', 'buy', 'user_id', 'item_id', 'price'] });
    expect(schema).toEqual({ labels: { click: 'click', buy: 'buy' }, categorical: ['user_id', 'item_id'], numeric: ['price'], group: 'user_id' });
  });

  it('names the row of a stage outside 0..2', async () => {
    const file = path.join(dir, 'bad-log.csv');
    await writeFile(file, 'user_id,stage\nu1,0\nu2,1\nu3,3\n');
    const error = await expectUserError(materializePreset('stage-log', file, dir));
    expect(error.location).toMatchObject({ file, row: 3 });
    expect(error.message).toContain("'stage' must be 0, 1 or 2");
  });
});

describe('ali-ccp', () => {
  it("reads the converter's Parquet as it is, with the converter's schema", async () => {
    const converted = path.join(dir, 'ali-ccp.parquet');
    await convertAliCcp({
      skeleton: path.join(FIXTURES, 'sample_skeleton_fixture.csv'),
      common: path.join(FIXTURES, 'common_features_fixture.csv'),
      out: converted,
    });
    const { file, schema } = await preparePreset('ali-ccp', converted, dir);
    expect(file).toBe(converted);
    // The converter's schema, with the user field (f101) as the group for GAUC.
    expect(schema).toEqual({ ...aliCcpSchema(), group: 'f101' });
    expect(schema.multi_valued?.map((m) => m.name)).toEqual(['f109_14', 'f110_14', 'f127_14', 'f150_14', 'f508', 'f509', 'f702', 'f853']);
    const summary = await summarize(file);
    expect(summary).toMatchObject({ rows: 12, clicks: 5, buys: 2 });
    expectSchemaMatchesFile(schema, summary.columns);
  });
});
