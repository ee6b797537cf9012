import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertAliCcp, type ConvertProgress } from '../../src/datasets/convert-ali-ccp.js';
import { ALI_CCP_FIELDS, aliCcpColumn } from '../../src/datasets/ali-ccp-fields.js';
import { copyJoinedSql, createCommonTableSql } from '../../src/datasets/ali-ccp-sql.js';
import { expectUserError } from './helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/ali-ccp-raw');
const SKELETON = path.join(FIXTURES, 'sample_skeleton_fixture.csv');
const COMMON = path.join(FIXTURES, 'common_features_fixture.csv');

type Row = Record<string, string | number | null>;

async function readParquet(file: string): Promise<Row[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
    return reader.getRowObjectsJS() as Row[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A copy of a fixture with line `lineNumber` (1-based) replaced. */
async function withLine(dir: string, source: string, lineNumber: number, line: string): Promise<string> {
  const lines = (await readFile(source, 'utf8')).split('\n');
  lines[lineNumber - 1] = line;
  const file = path.join(dir, `broken-${path.basename(source)}`);
  await writeFile(file, lines.join('\n'));
  return file;
}

describe('convertAliCcp on the hand-written fixture', () => {
  let dir: string;
  let rows: Row[];
  let written: number;
  const progress: ConvertProgress[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'esmm-aliccp-'));
    const out = path.join(dir, 'out', 'ali.parquet');
    const result = await convertAliCcp({
      skeleton: SKELETON,
      common: COMMON,
      out,
      onProgress: (p) => progress.push(p),
    });
    written = result.rows;
    rows = await readParquet(out);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one row per skeleton line, in order, with click/buy and one column per field', () => {
    expect(written).toBe(12);
    expect(rows).toHaveLength(12);
    expect(Object.keys(rows[0]!)).toEqual(['click', 'buy', ...ALI_CCP_FIELDS.map(aliCcpColumn)]);
    expect(rows.map((r) => r.click)).toEqual([0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0]);
    expect(rows.map((r) => r.buy)).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    expect(rows.map((r) => r.f205)).toEqual(['2051', '2052', '2053', '2054', '2051', '2055', '2056', '2057', '2058', '2059', '2050', '2051']);
  });

  it('reports the rows of each stage as they stream, ending at 100%', () => {
    const last = (stage: string) => progress.filter((p) => p.stage === stage).at(-1);
    expect(last('common')).toEqual({ stage: 'common', rows: 3, estimatedRows: 3, percentage: 100 });
    expect(last('skeleton')).toEqual({ stage: 'skeleton', rows: 12, estimatedRows: 12, percentage: 100 });
  });

  it('row 1: user fields from the common features, item/cross/context from the skeleton', () => {
    expect(rows[0]).toEqual({
      click: 0, buy: 0,
      f101: '11', f121: '21', f122: '31', f124: '41', f125: '51', f126: '61', f127: '71', f128: '81', f129: '91',
      f205: '2051', f206: '2061', f207: '2071', f210: '2101', f216: '2161',
      f508: '5081:1.0', f509: '5091:2.0', f702: '7021:1.0', f853: '8531:1.0',
      f301: '3011',
      f109_14: '1091:2.0|1092:1.0', f110_14: '1101:3.0', f127_14: '1271:1.0', f150_14: '1501:5.0',
    });
  });

  it('keeps every value of a multi-valued field with its weight', () => {
    expect(rows[1]!.f508).toBe('5081:1.0|5082:0.5');
    expect(rows[4]!.f150_14).toBe('1502:2.0|1503:0.5');
    expect(rows[4]!.f853).toBe('8531:3.5');
    expect(rows[8]!.f509).toBe('5098:1.0|5099:2.0');
    expect(rows[5]!.f702).toBe('7025:0.25');
  });

  it('leaves absent fields NULL, including the user side of a row whose common index is missing', () => {
    const missing = rows[3]!;
    for (const field of ['f101', 'f121', 'f129', 'f109_14', 'f150_14']) expect(missing[field]).toBeNull();
    expect(missing.f205).toBe('2054');
    expect(missing.f508).toBe('5084:1.0');
    expect(rows[2]!.f101).toBe('12');
    expect(rows[2]!.f110_14).toBeNull();
    expect(rows[4]!.f121).toBeNull();
  });

  it('ignores unknown fields and keeps the first value of a repeated single-valued field', () => {
    expect(Object.values(rows[5]!).some((v) => String(v).includes('9991'))).toBe(false);
    expect(rows[11]!.f210).toBe('2101');
  });
});

describe('the conversion query', () => {
  it('streams the skeleton through a lookup join instead of buffering it', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(createCommonTableSql(COMMON, 'common_table'));
      const copy = copyJoinedSql(SKELETON, 'common_table', path.join(os.tmpdir(), 'never-written.parquet'));
      const query = copy.replace(/^COPY \(/, '').replace(/\) TO '[^']*' \(FORMAT parquet, COMPRESSION zstd\)$/, '');
      const plan = (await connection.runAndReadAll(`EXPLAIN ${query}`)).getRows().map((r) => String(r[1])).join('\n');
      // A DELIM join materialises its whole left side (the skeleton); a RIGHT join builds a hash
      // table from it. Either would make memory grow with the skeleton.
      expect(plan).toContain('SINGLE');
      expect(plan).not.toContain('DELIM');
      expect(plan).not.toContain('RIGHT');
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

describe('convertAliCcp on bad input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'esmm-aliccp-bad-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the skeleton file and line of a bad click value, and leaves no output', async () => {
    const skeleton = await withLine(dir, SKELETON, 7, `7,2,0,c1,1,205\x022056\x031.0`);
    const out = path.join(dir, 'click.parquet');
    const error = await expectUserError(convertAliCcp({ skeleton, common: COMMON, out }));
    expect(error.location).toMatchObject({ file: skeleton, row: 7 });
    expect(error.message).toContain('click');
    expect(await readdir(dir)).not.toContain('click.parquet');
    expect((await readdir(dir)).filter((f) => f.includes('.tmp') || f.includes('.spill'))).toEqual([]);
  });

  it('names the line of a skeleton row with a missing column', async () => {
    const skeleton = await withLine(dir, SKELETON, 10, `10,0,0,3,205\x022059\x031.0`);
    const error = await expectUserError(convertAliCcp({ skeleton, common: COMMON, out: path.join(dir, 'cols.parquet') }));
    expect(error.location).toMatchObject({ file: skeleton, row: 10 });
    expect(error.message).toContain('expected 6');
  });

  it('names the common file and line of a feature without a value', async () => {
    const common = await withLine(dir, COMMON, 2, `c2,2,101\x0212\x031.0\x01121\x0222`);
    const error = await expectUserError(convertAliCcp({ skeleton: SKELETON, common, out: path.join(dir, 'feat.parquet') }));
    expect(error.location).toMatchObject({ file: common, row: 2 });
    expect(error.message).toContain('feature 2');
  });

  it('keeps an existing output file untouched when the conversion fails', async () => {
    const out = path.join(dir, 'existing.parquet');
    await writeFile(out, 'previous result');
    const skeleton = await withLine(dir, SKELETON, 12, `12,0,0,c2,x,205\x022051\x031.0`);
    const error = await expectUserError(convertAliCcp({ skeleton, common: COMMON, out }));
    expect(error.location.row).toBe(12);
    expect(await readFile(out, 'utf8')).toBe('previous result');
  });

  it('refuses a common_feature_index that occurs twice', async () => {
    const common = path.join(dir, 'dup-common.csv');
    const text = await readFile(COMMON, 'utf8');
    await writeFile(common, text + text.split('\n')[0] + '\n');
    const error = await expectUserError(convertAliCcp({ skeleton: SKELETON, common, out: path.join(dir, 'dup.parquet') }));
    expect(error.location).toMatchObject({ file: common, key: 'c1' });
  });

  it('refuses a missing input file', async () => {
    const error = await expectUserError(
      convertAliCcp({ skeleton: path.join(dir, 'nope.csv'), common: COMMON, out: path.join(dir, 'x.parquet') }),
    );
    expect(error.location.file).toBe(path.join(dir, 'nope.csv'));
  });
});
