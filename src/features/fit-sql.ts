/**
 * Fit a FeatureSpec out of core: DuckDB aggregates over the training files instead of JavaScript
 * counts over rows held in memory. Vocabularies come from GROUP BY counts (min_count applied in
 * SQL), standardize_tanh moments from count/avg/var_pop, quantile cuts from an ORDER BY that
 * DuckDB may spill to disk. The result equals FeatureSpec.fit on the same kept rows (moments up to
 * float rounding); rows the reader would skip (data.skip_invalid) are left out here too.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { UserError } from '../errors.js';
import type { Schema } from '../data/schema.js';
import { connectDuckDB, sqlString } from '../data/duckdb.js';
import { prepare, type ReadOptions } from '../data/reader.js';
import type { CategoricalEncoder } from './categorical-encoder.js';
import { HashEncoder, VocabularyEncoder } from './categorical-encoder.js';
import { categoricalSettings, numericSettings, validateFeatureConfig, type FeatureConfig } from './config.js';
import { FeatureSpec } from './spec.js';
import type { QuantileJSON, StandardizeJSON } from './numeric.js';

export interface SqlFitResult {
  spec: FeatureSpec;
  /** Kept rows over all files. */
  rows: number;
  /** Mean number of items per row, summed over the multi-valued fields (sizes the stream's buffers). */
  multiItemsPerRow: number;
}

/**
 * The kept rows of every file as one SQL relation with columns c0.. (categorical), m0..
 * (multi-valued) and n0.. (numeric), through the reader's own validating query.
 */
async function keptRowsSql(con: DuckDBConnection, files: string[], opts: ReadOptions): Promise<string> {
  const s = opts.schema;
  const C = s.categorical.length;
  const M = (s.multi_valued ?? []).length;
  const N = (s.numeric ?? []).length;
  const parts: string[] = [];
  for (const file of files) {
    const { plan } = await prepare(con, file, opts);
    const names = [
      ...plan.labels.map((_, i) => `l${i}`),
      ...Array.from({ length: C }, (_, i) => `c${i}`),
      ...Array.from({ length: M }, (_, i) => `m${i}`),
      ...Array.from({ length: N }, (_, i) => `n${i}`),
      ...plan.truth.map((_, i) => `t${i}`),
      ...(plan.group !== undefined ? ['g'] : []),
      'problem',
    ];
    const keep = [...names.filter((n) => /^[cmn]\d/.test(n))];
    parts.push(`SELECT ${keep.length > 0 ? keep.join(', ') : '1 AS one'} FROM (${plan.sql}) AS t(${names.join(', ')}) WHERE problem = ''`);
  }
  return parts.join(' UNION ALL ');
}

async function scalar(con: DuckDBConnection, sql: string): Promise<unknown[]> {
  return (await (await con.run(sql)).getRows())[0]!;
}

/** value -> count of the values kept by min_count, streamed out of DuckDB chunk by chunk. */
async function counts(con: DuckDBConnection, valuesSql: string, minCount: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const result = await con.stream(`SELECT v, count(*)::DOUBLE AS n FROM (${valuesSql}) WHERE v <> '' GROUP BY v HAVING count(*) >= ${minCount}`);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const v = chunk.getColumnVector(0);
    const n = chunk.getColumnVector(1);
    for (let i = 0; i < chunk.rowCount; i++) out.set(String(v.getItem(i)), Number(n.getItem(i)));
  }
  return out;
}

/** Fit the FeatureSpec of `opts.schema` on `files` with DuckDB; memory grows with distinct values, not rows. */
export async function fitFeaturesSql(files: string[], opts: ReadOptions, cfg: FeatureConfig = {}): Promise<SqlFitResult> {
  const schema: Schema = opts.schema;
  validateFeatureConfig(schema, cfg);
  const con = await connectDuckDB();
  try {
    const src = await keptRowsSql(con, files, opts);
    await con.run(`CREATE OR REPLACE TEMP VIEW esmm_fit_rows AS ${src}`);
    const rows = Number((await scalar(con, 'SELECT count(*)::DOUBLE FROM esmm_fit_rows'))[0]);
    if (rows === 0) throw new UserError('cannot fit features on zero rows', { file: files[0]!, key: 'data.train' });
    const encoder = async (name: string, valuesSql: string): Promise<CategoricalEncoder> => {
      const st = categoricalSettings(cfg, name);
      if (st.hashBuckets > 0) return new HashEncoder(st.hashBuckets);
      return VocabularyEncoder.fromCounts(await counts(con, valuesSql, st.minCount), st.minCount);
    };
    const categorical: CategoricalEncoder[] = [];
    for (const [i, name] of schema.categorical.entries()) categorical.push(await encoder(name, `SELECT c${i} AS v FROM esmm_fit_rows`));
    const multiValued: CategoricalEncoder[] = [];
    let items = 0;
    for (const [i, m] of (schema.multi_valued ?? []).entries()) {
      const split = `SELECT unnest(string_split(m${i}, ${sqlString(m.separator)})) AS item FROM esmm_fit_rows WHERE m${i} <> ''`;
      // Matches forEachItem: empty items are ignored; with a weight separator the value is the
      // text before its LAST occurrence (lastIndexOf), found here by reversing the item.
      const ws = m.weight_separator;
      const value =
        ws === undefined
          ? 'item'
          : `CASE WHEN strpos(item, ${sqlString(ws)}) = 0 THEN item ELSE left(item, length(item) - strpos(reverse(item), ${sqlString([...ws].reverse().join(''))}) + 1 - ${[...ws].length}) END`;
      const values = `SELECT ${value} AS v FROM (${split}) WHERE item <> ''`;
      items += Number((await scalar(con, `SELECT count(*)::DOUBLE FROM (${split}) WHERE item <> ''`))[0]);
      multiValued.push(await encoder(m.name, values));
    }
    const numeric: ({ name: string } & (StandardizeJSON | QuantileJSON))[] = [];
    for (const [i, name] of (schema.numeric ?? []).entries()) {
      const st = numericSettings(cfg, name);
      const finite = `SELECT n${i} AS x FROM esmm_fit_rows WHERE isfinite(n${i})`;
      if (st.transform === 'quantile') {
        numeric.push({ name, ...(await quantileCuts(con, finite, st.buckets)) });
        continue;
      }
      const [n, mean, variance] = (await scalar(con, `SELECT count(x)::DOUBLE, avg(x), var_pop(x) FROM (${finite})`)).map((v) => (v === null ? 0 : Number(v)));
      const std = n! > 0 ? Math.sqrt(variance!) : 0;
      numeric.push({ name, transform: 'standardize_tanh', mean: n! > 0 ? mean! : 0, std: std > 1e-12 ? std : 1 });
    }
    await con.run('DROP VIEW IF EXISTS esmm_fit_rows');
    return { spec: FeatureSpec.build(schema, cfg, categorical, multiValued, numeric), rows, multiItemsPerRow: items / rows };
  } finally {
    con.closeSync();
  }
}

/** fitQuantileCuts' cut points (sorted[floor(b n / Q)]), picked by row number out of DuckDB's sort. */
async function quantileCuts(con: DuckDBConnection, finite: string, buckets: number): Promise<QuantileJSON> {
  const n = Number((await scalar(con, `SELECT count(*)::DOUBLE FROM (${finite})`))[0]);
  const cuts: number[] = [];
  if (n === 0) return { transform: 'quantile', cuts };
  const at = [0];
  for (let b = 1; b < buckets; b++) at.push(Math.min(n - 1, Math.floor((b * n) / buckets)));
  const rows = await (await con.run(`SELECT i, x FROM (SELECT x, (row_number() OVER (ORDER BY x) - 1)::DOUBLE AS i FROM (${finite})) WHERE i IN (${[...new Set(at)].join(', ')})`)).getRows();
  const byIndex = new Map(rows.map(([i, x]) => [Number(i), Number(x)]));
  const min = byIndex.get(0)!;
  for (let b = 1; b < buckets; b++) {
    const cut = byIndex.get(at[b]!)!;
    if (cut > min && (cuts.length === 0 || cut > cuts[cuts.length - 1]!)) cuts.push(cut);
  }
  return { transform: 'quantile', cuts };
}
