import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RawChunk } from '../../src/data/batch.js';
import { concatChunks } from '../../src/data/chunks.js';
import { connectDuckDB, sqlString } from '../../src/data/duckdb.js';
import { readAll, readChunks } from '../../src/data/reader.js';
import type { Schema } from '../../src/data/schema.js';
import { fixture, HEADER, SCHEMA, tempFile } from './fixtures.js';

/** A chunk without its file name, for comparing reads of different files. */
function content(c: RawChunk): Omit<RawChunk, 'file'> {
  const { file: _file, ...rest } = c;
  return rest;
}

describe('formats', () => {
  it('reads the good fixture as typed columns, ids kept as text', async () => {
    const { data, stats } = await readAll(fixture('good.csv'), { schema: SCHEMA });
    expect(stats).toMatchObject({ rows: 4, kept: 4, skipped: 0 });
    expect(data.rows).toBe(4);
    expect(data.firstRow).toBe(1);
    expect([...data.labels.get('click')!]).toEqual([1, 0, 1, 0]);
    expect([...data.labels.get('cart')!]).toEqual([1, 0, 0, 0]);
    expect(data.categorical.get('item')).toEqual(['0012', '12', 'x,y', '12']);
    expect(data.multiValued.get('tags')).toEqual(['a:1|b:2', '', 'c', 'a|a']);
    expect([...data.numeric.get('price')!]).toEqual([3.5, NaN, 1000, -2]);
    expect(data.group).toEqual(['u1', 'u2', 'u1', 'u3']);
    expect([...data.truth.get('true_pctr')!]).toEqual([0.1, 0.2, 0.3, 0.05]);
  });

  it('CSV, TSV, JSONL and Parquet of the same data give identical chunks', async () => {
    const csv = await readAll(fixture('good.csv'), { schema: SCHEMA });
    const tsv = tempFile(
      'good.tsv',
      [HEADER.replaceAll(',', '\t'), '1\t1\t1\tu1\t0012\ta:1|b:2\t3.5\t0.1', '0\t0\t0\tu2\t12\t\t\t0.2', '1\t0\t0\tu1\tx,y\tc\t1e3\t0.3', '0\t0\t0\tu3\t12\ta|a\t-2\t0.05'].join('\n') + '\n',
    );
    const jsonl = tempFile(
      'good.jsonl',
      [
        { click: 1, buy: 1, cart: 1, user: 'u1', item: '0012', tags: 'a:1|b:2', price: 3.5, true_pctr: 0.1 },
        { click: 0, buy: 0, cart: 0, user: 'u2', item: 12, tags: '', price: null, true_pctr: 0.2 },
        { click: 1, buy: 0, cart: 0, user: 'u1', item: 'x,y', tags: 'c', price: 1000, true_pctr: 0.3 },
        { click: 0, buy: 0, cart: 0, user: 'u3', item: '12', tags: 'a|a', price: -2, true_pctr: 0.05 },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const parquet = join(dirname(tsv), 'good.parquet');
    const con = await connectDuckDB();
    try {
      // Typed Parquet columns: integer labels, text ids, double numerics.
      await con.run(
        `COPY (SELECT click::INTEGER AS click, buy::INTEGER AS buy, cart::BOOLEAN AS cart, "user", item, tags,
                      price::DOUBLE AS price, true_pctr::DOUBLE AS true_pctr
               FROM read_csv(${sqlString(fixture('good.csv'))}, all_varchar=true))
         TO ${sqlString(parquet)} (FORMAT parquet)`,
      );
    } finally {
      con.closeSync();
    }
    for (const file of [tsv, jsonl, parquet]) {
      const other = await readAll(file, { schema: SCHEMA });
      expect(content(other.data), file).toEqual(content(csv.data));
    }
    // The format can be overridden, and a custom delimiter given.
    const semi = tempFile('good.txt', (await import('node:fs')).readFileSync(tsv, 'utf8').replaceAll('\t', ';'));
    const viaOverride = await readAll(semi, { schema: SCHEMA, format: 'csv', delimiter: ';' });
    expect(content(viaOverride.data)).toEqual(content(csv.data));
  });
});

describe('text cells', () => {
  it('reads non-ASCII, long (> 12 bytes), quoted and many distinct values exactly', async () => {
    // Kinds: non-ASCII, longer than DuckDB's 12 inlined bytes, short ids (0012 vs 12), quotes, and
    // 12-byte values equal in their first 8 bytes (so cache-slot collisions must compare all bytes).
    const kinds = [
      (i: number) => `é${i}北`,
      (i: number) => `a-long-identifier-${i}`,
      (i: number) => `${i % 97}`,
      (i: number) => `0${i % 97}`,
      (i: number) => `q"${i % 11}`,
      (i: number) => `prefix__${1000 + (i % 9000)}`,
    ];
    const values = Array.from({ length: 60_000 }, (_, i) => kinds[i % kinds.length]!(i));
    const csvCell = (v: string) => (v.includes('"') ? `"${v.replaceAll('"', '""')}"` : v);
    const file = tempFile('t.csv', 'c,b,id\n' + values.map((v) => `0,0,${csvCell(v)}`).join('\n') + '\n');
    const { data } = await readAll(file, { schema: { labels: { click: 'c', buy: 'b' }, categorical: ['id'] } });
    expect(data.categorical.get('id')).toEqual(values);
  });
});

describe('chunking', () => {
  const schema: Schema = { labels: { click: 'c', buy: 'b' }, categorical: ['id'], numeric: ['x'] };
  const file = tempFile(
    'n.csv',
    'c,b,id,x\n' + Array.from({ length: 5000 }, (_, i) => `${i % 2},0,${i},${i === 3 ? 'bad' : i / 2}`).join('\n') + '\n',
  );

  it('splits across chunk boundaries (and DuckDB vector boundaries) without losing rows', async () => {
    const stream = readChunks(file, { schema, chunkRows: 1000, skipInvalid: true });
    const chunks: RawChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.map((c) => c.rows)).toEqual([1000, 1000, 1000, 1000, 999]);
    // Row 4 (id 3) is skipped, so the second chunk starts at file row 1002.
    expect(chunks.map((c) => c.firstRow)).toEqual([1, 1002, 2002, 3002, 4002]);
    expect(stream.stats).toMatchObject({ rows: 5000, kept: 4999, skipped: 1 });
    const all = concatChunks(chunks);
    const ids = all.categorical.get('id')!;
    expect(ids.length).toBe(4999);
    expect(ids[2]).toBe('2');
    expect(ids[3]).toBe('4');
    expect(ids[4998]).toBe('4999');
    expect(all.numeric.get('x')![4998]).toBe(4999 / 2);
    expect(content(all)).toEqual(content((await readAll(file, { schema, skipInvalid: true, chunkRows: 7 })).data));
  });

  it('stops cleanly when the consumer breaks early', async () => {
    let n = 0;
    for await (const c of readChunks(file, { schema, chunkRows: 100, skipInvalid: true })) {
      n += c.rows;
      break;
    }
    expect(n).toBe(100);
  });
});

describe('predict-time and stage-coded files', () => {
  it('reads a file without label columns when labelsOptional (labels read as 0)', async () => {
    const file = tempFile('p.csv', 'user,item,tags,price\nu1,7,a,1\nu2,8,,2\n');
    const { data } = await readAll(file, { schema: SCHEMA, labelsOptional: true });
    expect([...data.labels.get('click')!]).toEqual([0, 0]);
    expect([...data.labels.get('cart')!]).toEqual([0, 0]);
    expect(data.truth.size).toBe(0);
    await expect(readAll(file, { schema: SCHEMA })).rejects.toThrow(/missing columns 'click', 'buy', 'cart'/);
  });

  it('derives click and buy from a stage column (0 impression, 1 click, 2 conversion)', async () => {
    const schema: Schema = { labels: { click: 'click', buy: 'buy' }, categorical: ['u'] };
    const file = tempFile('st.csv', 'stage,u\n0,a\n1,b\n2,c\n');
    const { data } = await readAll(file, { schema, stageColumn: 'stage' });
    expect([...data.labels.get('click')!]).toEqual([0, 1, 1]);
    expect([...data.labels.get('buy')!]).toEqual([0, 0, 1]);
    const bad = tempFile('st.csv', 'stage,u\n0,a\n3,b\n');
    await expect(readAll(bad, { schema, stageColumn: 'stage' })).rejects.toThrow(/row 2, column 'stage': stage must be 0/);
  });
});

/** The shared sample, found relative to the repository (../shared beside it), never by a machine path. */
const ALI_CCP_SAMPLE = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'ali-ccp-csv', 'train.csv');
const sampleMissing = !existsSync(ALI_CCP_SAMPLE);

describe('real sample', () => {
  it.skipIf(sampleMissing)(`reads the Ali-CCP preprocessed CSV sample${sampleMissing ? ` (SKIPPED: ${ALI_CCP_SAMPLE} is absent)` : ''}`, async () => {
    const header = readFileSync(ALI_CCP_SAMPLE, 'utf8').split('\n')[0]!.split(',');
    const numeric = header.filter((c) => c.startsWith('D'));
    const categorical = header.filter((c) => c !== 'click' && c !== 'purchase' && !c.startsWith('D'));
    expect(categorical.length).toBe(23);
    expect(numeric.length).toBe(8);
    const { data, stats } = await readAll(ALI_CCP_SAMPLE, {
      schema: { labels: { click: 'click', buy: 'purchase' }, categorical, numeric },
    });
    expect(stats.rows).toBe(100); // 101 lines, the last without a newline
    expect(data.rows).toBe(100);
    expect(data.categorical.size).toBe(23);
    expect(data.numeric.get('D109_14')![0]).toBeCloseTo(0.4734, 6);
    const clicks = data.labels.get('click')!.reduce((a, b) => a + b, 0);
    const buys = data.labels.get('purchase')!.reduce((a, b) => a + b, 0);
    expect(clicks).toBeGreaterThan(0);
    expect(buys).toBeLessThanOrEqual(clicks);
  });
});
