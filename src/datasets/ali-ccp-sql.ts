/**
 * The DuckDB SQL of the Ali-CCP raw -> Parquet conversion. DuckDB parses, joins and writes in
 * native code, streams the skeleton side, and spills to its temp directory when the common side
 * outgrows memory_limit.
 */
import { ALI_CCP_FIELDS, ALI_CCP_MULTI_FIELDS, ALI_CCP_ITEM_SEPARATOR, ALI_CCP_WEIGHT_SEPARATOR, aliCcpColumn } from './ali-ccp-fields.js';
import { ALI_CCP_FEATURE_PATTERN, type AliCcpFileKind } from './ali-ccp-line-check.js';
import { sqlIdent, sqlString } from './sql-text.js';

/** Message DuckDB raises on the first malformed row; the caller then locates the line. */
export const MALFORMED_ROW_MARKER = 'esmm: malformed Ali-CCP row';

const RAW_COLUMNS: Record<AliCcpFileKind, string[]> = {
  skeleton: ['sample_id', 'click', 'buy', 'idx', 'feature_num', 'feature_list'],
  common: ['idx', 'feature_num', 'feature_list'],
};

/** read_csv over a raw file: no header, no quoting, every column text. */
export function readRawSql(kind: AliCcpFileKind, file: string): string {
  const columns = RAW_COLUMNS[kind].map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ');
  return (
    `read_csv(${sqlString(file)}, delim = ',', header = false, quote = '', escape = '', ` +
    `auto_detect = false, columns = {${columns}})`
  );
}

/** True when a raw row breaks the rules of checkAliCcpLine (the same rules, in SQL). */
export function malformedRowSql(kind: AliCcpFileKind): string {
  const checks: string[] = [];
  if (kind === 'skeleton') {
    checks.push(`coalesce(click IN ('0', '1'), false)`, `coalesce(buy IN ('0', '1'), false)`);
  } else {
    checks.push('idx IS NOT NULL');
  }
  checks.push(`regexp_full_match(coalesce(feature_num, ''), '[0-9]+')`);
  // One RE2 pass over the whole list is several times faster than matching each feature.
  const list = `(?:${ALI_CCP_FEATURE_PATTERN})(?:\\x01(?:${ALI_CCP_FEATURE_PATTERN}))*`;
  checks.push(`(feature_list IS NULL OR regexp_full_match(feature_list, ${sqlString(list)}))`);
  return `NOT (${checks.join(' AND ')})`;
}

/**
 * `value`, or DuckDB raises MALFORMED_ROW_MARKER when the row's `malformed` column is true. With a
 * row counter (see row-counter.ts), each row passes through it on the way (`probe` is a column
 * that is never NULL in a well-formed row).
 */
function raiseIfMalformedSql(value: string, counter?: { name: string; probe: string }): string {
  const counted = counter === undefined ? `ELSE ${value}` : `WHEN ${counter.name}(${counter.probe}) THEN ${value}`;
  return `CASE WHEN malformed THEN error(${sqlString(MALFORMED_ROW_MARKER)}) ${counted} END`;
}

/**
 * One output column per field, from `feats` (the features as text), `fields` (their field ids)
 * and `ids` (their feature ids). A single-valued field keeps the feature id of its first
 * occurrence; a multi-valued field keeps every occurrence as `id:value`, joined by '|'. An absent
 * field is NULL.
 */
function fieldColumnsSql(): string[] {
  return ALI_CCP_FIELDS.map((field) => {
    const column = sqlIdent(aliCcpColumn(field));
    if (!ALI_CCP_MULTI_FIELDS.includes(field)) return `ids[list_position(fields, ${sqlString(field)})] AS ${column}`;
    const matching = `list_filter(feats, lambda f: starts_with(f, ${sqlString(field)} || chr(2)))`;
    const items = `list_transform(${matching}, lambda f: replace(f[${field.length + 2}:], chr(3), ${sqlString(ALI_CCP_WEIGHT_SEPARATOR)}))`;
    return `nullif(array_to_string(${items}, ${sqlString(ALI_CCP_ITEM_SEPARATOR)}), '') AS ${column}`;
  });
}

/**
 * Rows of a raw file: the `keep` columns, a `malformed` flag and one column per field. Raising on
 * malformed rows is left to the caller, above any join: a volatile error() below DuckDB's lookup
 * join stops the optimizer from turning it into a streaming hash join.
 */
function parsedRowsSql(kind: AliCcpFileKind, file: string, keep: string[]): string {
  const split =
    `SELECT ${keep.join(', ')}, ${malformedRowSql(kind)} AS malformed, ` +
    `coalesce(string_split(feature_list, chr(1)), []) AS feats FROM ${readRawSql(kind, file)}`;
  const lists =
    `SELECT *, list_transform(feats, lambda f: split_part(f, chr(2), 1)) AS fields, ` +
    `list_transform(feats, lambda f: split_part(split_part(f, chr(2), 2), chr(3), 1)) AS ids FROM (${split})`;
  return `SELECT ${[...keep, 'malformed', ...fieldColumnsSql()].join(', ')} FROM (${lists})`;
}

/**
 * Builds the in-database table of common features, one row per common_feature_index.
 * `rowCounter` names an optional SQL function that counts rows for progress reports.
 */
export function createCommonTableSql(commonFile: string, table: string, rowCounter?: string): string {
  const columns = ALI_CCP_FIELDS.map((field) => sqlIdent(aliCcpColumn(field)));
  const idx = raiseIfMalformedSql('idx', rowCounter === undefined ? undefined : { name: rowCounter, probe: 'idx' });
  return (
    `CREATE TEMP TABLE ${sqlIdent(table)} AS SELECT ${idx} AS idx, ${columns.join(', ')} ` +
    `FROM (${parsedRowsSql('common', commonFile, ['idx'])})`
  );
}

/** The first common_feature_index that occurs twice (a join on it would duplicate samples). */
export function duplicateCommonIndexSql(table: string): string {
  return `SELECT idx FROM ${sqlIdent(table)} GROUP BY idx HAVING count(*) > 1 LIMIT 1`;
}

/**
 * Streams the skeleton, looks up each row's common features and writes the Parquet file. A missing
 * index leaves the user side NULL; a field present on both sides takes the skeleton's value.
 *
 * The lookup is a scalar subquery, which DuckDB plans as a SINGLE hash join: one output row per
 * skeleton row, in the skeleton's line order. (A LEFT JOIN would emit the unmatched rows of each
 * vector after the matched ones, shuffling the order.)
 */
export function copyJoinedSql(skeletonFile: string, commonTable: string, outFile: string, rowCounter?: string): string {
  const columns = ALI_CCP_FIELDS.map((field) => {
    const column = aliCcpColumn(field);
    return `coalesce(s.${sqlIdent(column)}, struct_extract(s.common, ${sqlString(column)})) AS ${sqlIdent(column)}`;
  });
  const table = sqlIdent(commonTable);
  const click = raiseIfMalformedSql('s.click', rowCounter === undefined ? undefined : { name: rowCounter, probe: 's.click' });
  return (
    `COPY (SELECT CAST(${click} AS INTEGER) AS click, CAST(s.buy AS INTEGER) AS buy, ` +
    `${columns.join(', ')} FROM (SELECT *, (SELECT c FROM ${table} c WHERE c.idx = skeleton.idx) AS common ` +
    `FROM (${parsedRowsSql('skeleton', skeletonFile, ['click', 'buy', 'idx'])}) skeleton) s) ` +
    `TO ${sqlString(outFile)} (FORMAT parquet, COMPRESSION zstd)`
  );
}
