/**
 * Issue 11, sections 2 and 3: presets as a starting schema (with overrides, patterns and
 * exclusions), the new presets, header-less CSV, errors naming config keys, and scoring files
 * without labels (predict --keep, Parquet output, eval --skip-invalid, report --data).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'presets');
const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared', 'data');
const FAST = ['--epochs', '1', '--batch-size', '16', '--quiet'];

let dir: string;
beforeAll(() => {
  dir = tempDir('esmm-bend-');
});

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').trim().split('\n');
}

/** A copy of a simple (unquoted) CSV without some columns. */
function dropCsvColumns(file: string, drop: string[], out: string): string {
  const rows = lines(file).map((l) => l.split(','));
  const keep = rows[0]!.map((name, i) => (drop.includes(name) ? -1 : i)).filter((i) => i >= 0);
  writeFileSync(out, `${rows.map((r) => keep.map((i) => r[i]).join(',')).join('\n')}\n`);
  return out;
}

async function parquetRows(file: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    const reader = await con.runAndReadAll(`SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`);
    return { columns: reader.columnNames(), rows: reader.getRows() };
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

async function train(args: string[]): Promise<string> {
  const out = join(dir, `m${Math.random().toString(36).slice(2, 8)}`);
  const r = await runCli(['train', ...args, '--out', out, ...FAST]);
  expect(r.stderr).not.toMatch(/error|Error/);
  expect(r.code).toBe(0);
  return out;
}

function modelJson(model: string): { config: { preset?: string; schema: { categorical: string[]; numeric?: string[]; group?: string; multi_valued?: { name: string }[] } } } {
  return JSON.parse(readFileSync(join(model, 'model.json'), 'utf8'));
}

async function expectScores(model: string, data: string, rows: number): Promise<void> {
  const out = join(dir, `p${Math.random().toString(36).slice(2, 8)}.csv`);
  const p = await runCli(['predict', '--model', model, '--data', data, '--out', out]);
  expect(p.stderr).toContain(`${rows} predictions written to ${out}\n`);
  expect(p.code).toBe(0);
  expect(lines(out)).toHaveLength(rows + 1);
}

describe('new presets: train, predict on an unlabeled copy, eval', () => {
  it('aliexpress (torch-rechub / FuxiCTR CSV)', async () => {
    const file = join(FIXTURES, 'aliexpress.csv');
    const model = await train(['--preset', 'aliexpress', '--train', file]);
    expect(modelJson(model).config.schema.categorical).toHaveLength(16);
    expect(modelJson(model).config.schema.numeric).toHaveLength(63);
    await expectScores(model, dropCsvColumns(file, ['click', 'conversion'], join(dir, 'ae-unlabeled.csv')), 48);
    const e = await runCli(['eval', '--model', model, '--data', file, '--json', join(dir, 'ae.json')]);
    expect(e.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'ae.json'), 'utf8')).rows).toBe(48);
  });

  it('paddlerec-ali-ccp (click buy field:id tokens; repeated fields are multi-valued; GAUC by user)', async () => {
    const file = join(FIXTURES, 'paddlerec-ali-ccp.txt');
    const model = await train(['--preset', 'paddlerec-ali-ccp', '--train', file]);
    const schema = modelJson(model).config.schema;
    expect(schema.multi_valued?.map((m) => m.name).sort()).toEqual(['f109_14', 'f508']);
    expect(schema.categorical).toContain('f205');
    expect(schema.group).toBe('f101');
    expect(JSON.parse(readFileSync(join(model, 'metrics.json'), 'utf8')).metrics).toHaveProperty('gauc_ctcvr');
    const unlabeled = join(dir, 'paddle-unlabeled.txt');
    writeFileSync(unlabeled, lines(file).map((l) => l.split(' ').slice(2).join(' ')).join('\n'));
    await expectScores(model, unlabeled, 48);
    expect((await runCli(['eval', '--model', model, '--data', file])).code).toBe(0);
  });

  it('census-income-raw (header-less 42-column KDD file; 41 columns without the income to score)', async () => {
    const file = join(FIXTURES, 'census-income-raw.data');
    // Evaluated on the same file (--test), so the counts are the fixture's own (5 rows over 50K).
    const model = await train(['--preset', 'census-income-raw', '--train', file, '--test', file]);
    const metrics = JSON.parse(readFileSync(join(model, 'metrics.json'), 'utf8')).metrics;
    expect(metrics.clicked_rows).toBe(5);
    const unlabeled = join(dir, 'census-unlabeled.data');
    writeFileSync(unlabeled, lines(file).map((l) => l.split(',').slice(0, 41).join(',')).join('\n'));
    await expectScores(model, unlabeled, 80);
    expect((await runCli(['eval', '--model', model, '--data', file])).code).toBe(0);
    const rechub = await runCli(['train', '--preset', 'census-income-raw', '--train', join(SHARED, 'census-income', 'train.csv'), ...FAST]);
    expect(rechub.code).toBe(2);
    expect(rechub.stderr).toMatch(/census-income-raw.*--preset census-income/);
  });
});

describe('presets bend: a starting schema with overrides', () => {
  it('the Ali-CCP CSV preset groups by the user field, so GAUC is reported', async () => {
    const model = await train(['--preset', 'ali-ccp-csv', '--train', join(SHARED, 'ali-ccp-csv', 'train.csv')]);
    expect(modelJson(model).config.schema.group).toBe('f101');
    expect(JSON.parse(readFileSync(join(model, 'metrics.json'), 'utf8')).metrics).toHaveProperty('gauc_ctcvr');
  });

  it('schema: { preset, exclude } in YAML; the model remembers the preset for predict', async () => {
    const config = join(dir, 'aliccp.yaml');
    writeFileSync(config, [`data: { train: ${join(SHARED, 'ali-ccp-csv', 'train.csv')} }`, 'schema: { preset: ali-ccp-csv, exclude: [f301, f127_14] }', ''].join('\n'));
    const model = await train(['--config', config]);
    const saved = modelJson(model).config;
    expect(saved.preset).toBe('ali-ccp-csv');
    expect(saved.schema.categorical).not.toContain('f301');
    expect(saved.schema.categorical).not.toContain('f127_14');
    expect(saved.schema.categorical).toContain('f205');
    await expectScores(model, join(SHARED, 'ali-ccp-csv', 'valid.csv'), 50);
    // `schema: NAME` is short for `schema: { preset: NAME }`.
    writeFileSync(config, `data: { train: ${join(FIXTURES, 'aliexpress.csv')} }\nschema: aliexpress\n`);
    expect(modelJson(await train(['--config', config])).config.preset).toBe('aliexpress');
  });

  it('--preset P --config overrides.yaml: the preset is the start, the file overrides it with patterns', async () => {
    const config = join(dir, 'overrides.yaml');
    writeFileSync(config, "schema: { exclude: ['numerical_6?'] }\nmodel: { embedding_dim: 4 }\n");
    const model = await train(['--preset', 'aliexpress', '--config', config, '--train', join(FIXTURES, 'aliexpress.csv')]);
    const numeric = modelJson(model).config.schema.numeric!;
    expect(numeric).toHaveLength(59);
    expect(numeric).not.toContain('numerical_61');
    expect(numeric).toContain('numerical_6');
  });

  it('a 79-column CSV is three lines of schema with patterns', async () => {
    const config = join(dir, 'patterns.yaml');
    writeFileSync(config, [
      `data: { train: ${join(FIXTURES, 'aliexpress.csv')} }`,
      'schema:',
      '  labels: { click: click, buy: conversion }',
      "  categorical: ['categorical_*']",
      "  numeric: ['numerical_*']",
      '',
    ].join('\n'));
    const model = await train(['--config', config]);
    expect(modelJson(model).config.schema.categorical).toHaveLength(16);
    expect(modelJson(model).config.schema.numeric).toHaveLength(63);
  });

  it('a pattern or exclusion matching nothing is an error naming the key', async () => {
    const config = join(dir, 'nomatch.yaml');
    writeFileSync(config, `data: { train: ${join(FIXTURES, 'aliexpress.csv')} }\nschema: { labels: { click: click, buy: conversion }, categorical: ['cat_*'] }\n`);
    const r = await runCli(['train', '--config', config, ...FAST]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/key 'schema.categorical'.*'cat_\*' matches no column/);
    writeFileSync(config, `data: { train: ${join(SHARED, 'ali-ccp-csv', 'train.csv')} }\nschema: { preset: ali-ccp-csv, exclude: [event_type] }\n`);
    const x = await runCli(['train', '--config', config, ...FAST]);
    expect(x.code).toBe(2);
    expect(x.stderr).toMatch(/key 'schema.exclude'.*'event_type' is not a column/);
  });
});

describe('header-less CSV and errors that name the config key', () => {
  let headerless: string;
  beforeAll(() => {
    const src = lines(join(SHARED, 'census-income', 'train.csv'));
    const names = src[0]!.split(',');
    const pick = ['age', 'education', 'sex', 'marital status', 'income'].map((n) => names.indexOf(n));
    headerless = join(dir, 'headerless.csv');
    writeFileSync(headerless, `${src.slice(1).map((l) => pick.map((i) => l.split(',')[i]).join(',')).join('\n')}\n`);
  });
  const schema = 'schema: { labels: { click: income, buy: never_married }, categorical: [education, sex], numeric: [age] }';

  it('data.header: false with data.columns trains, predicts and evaluates', async () => {
    const config = join(dir, 'headerless.yaml');
    writeFileSync(config, `data: { train: ${headerless}, header: false, columns: [age, education, sex, never_married, income], skip_invalid: true }\n${schema}\n`);
    const model = await train(['--config', config]);
    await expectScores(model, headerless, 80);
    expect((await runCli(['eval', '--model', model, '--data', headerless])).code).toBe(0);
    // A file to score may leave out the label columns: the other names of data.columns apply.
    const unlabeled = join(dir, 'headerless-unlabeled.csv');
    writeFileSync(unlabeled, lines(headerless).map((l) => l.split(',').slice(0, 3).join(',')).join('\n'));
    await expectScores(model, unlabeled, 80);
  });

  it('a header-less file read with a header says the first row looks like data and names data.header', async () => {
    const config = join(dir, 'noheader.yaml');
    writeFileSync(config, `data: { train: ${headerless} }\n${schema}\n`);
    const r = await runCli(['train', '--config', config, ...FAST]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/key 'data.header'.*first row looks like data/);
    expect(r.stderr).not.toMatch(/appears twice/);
  });

  it('a header-less file given to a preset that wants a header says the first row looks like data', async () => {
    const noHeader = join(dir, 'aliccp-noheader.csv');
    writeFileSync(noHeader, lines(join(SHARED, 'ali-ccp-csv', 'train.csv')).slice(1).join('\n'));
    const r = await runCli(['train', '--preset', 'ali-ccp-csv', '--train', noHeader, ...FAST]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/first row looks like data/);
    const other = await runCli(['train', '--preset', 'aliexpress', '--train', join(SHARED, 'ali-ccp-csv', 'train.csv'), ...FAST]);
    expect(other.stderr).toMatch(/missing column\(s\) for preset 'aliexpress'/);
    expect(other.stderr).not.toMatch(/looks like data/);
  });

  it('errors about skipping and format name data.skip_invalid and data.format', async () => {
    const bad = join(dir, 'buy-no-click.csv');
    writeFileSync(bad, 'click,buy,f\n1,1,a\n0,1,b\n0,0,c\n');
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, `data: { train: ${bad} }\nschema: { labels: { click: click, buy: buy }, categorical: [f] }\n`);
    expect((await runCli(['train', '--config', config, ...FAST])).stderr).toMatch(/row 2.*data\.skip_invalid/);
    const odd = join(dir, 'data.txt');
    writeFileSync(odd, 'click,buy,f\n1,1,a\n');
    writeFileSync(config, `data: { train: ${odd} }\nschema: { labels: { click: click, buy: buy }, categorical: [f] }\n`);
    expect((await runCli(['train', '--config', config, ...FAST])).stderr).toMatch(/data\.format/);
  });

  it("the ali-ccp preset given a CSV asks for 'esmm convert ali-ccp' output", async () => {
    const r = await runCli(['train', '--preset', 'ali-ccp', '--train', join(SHARED, 'ali-ccp-csv', 'train.csv'), ...FAST]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/esmm convert ali-ccp/);
    expect(r.stderr).not.toMatch(/magic/i);
  });
});

describe('scoring real files: predict never needs labels; --keep, Parquet, --skip-invalid, report --data', () => {
  let model: string;
  const valid = join(SHARED, 'ali-ccp-csv', 'valid.csv');
  beforeAll(async () => {
    model = await train(['--preset', 'ali-ccp-csv', '--train', join(SHARED, 'ali-ccp-csv', 'train.csv')]);
  });

  it('a preset-trained model scores a file without label columns, and one with broken labels', async () => {
    await expectScores(model, dropCsvColumns(valid, ['click', 'purchase'], join(dir, 'nolabels.csv')), 50);
    const broken = join(dir, 'broken-labels.csv');
    writeFileSync(broken, lines(valid).map((l, i) => (i === 3 ? `x,${l.split(',').slice(1).join(',')}` : i === 4 ? `0,1,${l.split(',').slice(2).join(',')}` : l)).join('\n'));
    await expectScores(model, broken, 50);
  });

  it('a schema-trained model scores a file whose labels are broken', async () => {
    const config = join(dir, 'plain.yaml');
    const data = join(dir, 'plain.csv');
    writeFileSync(data, ['user_id,item_id,click,buy', ...Array.from({ length: 40 }, (_, i) => `u${i % 5},i${i % 7},${i % 3 === 0 ? 1 : 0},${i % 6 === 0 ? 1 : 0}`)].join('\n'));
    writeFileSync(config, `data: { train: ${data} }\nschema: { labels: { click: click, buy: buy }, categorical: [user_id, item_id] }\n`);
    const m = await train(['--config', config]);
    const score = join(dir, 'score.csv');
    writeFileSync(score, 'user_id,item_id,click,buy\nu1,i2,yes,1\nu2,i3,0,1\nu9,i1,,\n');
    const out = join(dir, 'scored.csv');
    const p = await runCli(['predict', '--model', m, '--data', score, '--out', out, '--keep', 'user_id,item_id']);
    expect(p.code).toBe(0);
    const got = lines(out);
    expect(got[0]).toBe('pctr,pcvr,pctcvr,user_id,item_id');
    expect(got.slice(1).map((l) => l.split(',').slice(3).join(','))).toEqual(['u1,i2', 'u2,i3', 'u9,i1']);
  });

  it('--keep passes source columns through and --out F.parquet writes Parquet', async () => {
    const out = join(dir, 'pred.parquet');
    const p = await runCli(['predict', '--model', model, '--data', valid, '--out', out, '--keep', '101,205']);
    expect(p.code).toBe(0);
    expect(readFileSync(out).subarray(0, 4).toString('latin1')).toBe('PAR1');
    const { columns, rows } = await parquetRows(out);
    expect(columns).toEqual(['pctr', 'pcvr', 'pctcvr', '101', '205']);
    expect(rows).toHaveLength(50);
    const source = lines(valid).slice(1).map((l) => l.split(','));
    expect(rows.map((r) => [r[3], r[4]])).toEqual(source.map((s) => [s[2], s[11]]));
    expect(typeof rows[0]![0]).toBe('number');
    const missing = await runCli(['predict', '--model', model, '--data', valid, '--out', join(dir, 'x.csv'), '--keep', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--keep: no column 'nope'/);
    expect(existsSync(join(dir, 'x.csv'))).toBe(false);
  });

  it('eval takes --skip-invalid and prints the skipped count', async () => {
    const bad = join(dir, 'bad-label.csv');
    writeFileSync(bad, lines(valid).map((l, i) => (i === 2 ? `2,${l.split(',').slice(1).join(',')}` : l)).join('\n'));
    const strict = await runCli(['eval', '--model', model, '--data', bad]);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toMatch(/row 2.*click/);
    const json = join(dir, 'skip.json');
    const e = await runCli(['eval', '--model', model, '--data', bad, '--skip-invalid', '--json', json]);
    expect(e.code).toBe(0);
    expect(e.stderr).toMatch(/skipped 1 of 50 rows \(bad_label: 1\)/);
    expect(JSON.parse(readFileSync(json, 'utf8')).rows).toBe(49);
  });

  it("eval follows the model's data.skip_invalid", async () => {
    const config = join(dir, 'skipping.yaml');
    writeFileSync(config, `data: { train: ${join(SHARED, 'ali-ccp-csv', 'train.csv')}, skip_invalid: true }\nschema: { preset: ali-ccp-csv }\n`);
    const m = await train(['--config', config]);
    const bad = join(dir, 'bad-label2.csv');
    writeFileSync(bad, lines(valid).map((l, i) => (i === 5 ? `0,1,${l.split(',').slice(2).join(',')}` : l)).join('\n'));
    const e = await runCli(['eval', '--model', m, '--data', bad]);
    expect(e.code).toBe(0);
    expect(e.stderr).toMatch(/skipped 1 of 50 rows \(buy_without_click: 1\)/);
  });

  it("report --data reads the file through the model's preset", async () => {
    const out = join(dir, 'report.html');
    const r = await runCli(['report', '--model', model, '--data', valid, '--out', out]);
    expect(r.stderr).not.toMatch(/missing column/);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('valid.csv');
  });
});
