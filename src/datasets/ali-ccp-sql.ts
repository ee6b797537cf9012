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
  checks.push(
    `coalesce(list_bool_and(list_transform(string_split(feature_list, chr(1)), ` +
      `lambda f: regexp_full_match(f, ${sqlString(ALI_CCP_FEATURE_PATTERN)}))), true)`,
  );
  return `NOT (${checks.join(' AND ')})`;
}

/** A WHERE condition that keeps good rows and raises on the first malformed one. */
function raiseOnMalformedSql(kind: AliCcpFileKind): string {
  return `CASE WHEN ${malformedRowSql(kind)} THEN error(${sqlString(MALFORMED_ROW_MARKER)}) ELSE true END`;
}

/** feature_list as a list of {field, rest} where rest is `feature_id \x03 value`. */
const PARSED_FEATURES_SQL =
  `list_transform(string_split(feature_list, chr(1)), ` +
  `lambda f: {'field': split_part(f, chr(2), 1), 'rest': split_part(f, chr(2), 2)})`;

/**
 * One output column per field, from a list `feats` of {field, rest}. A single-valued field keeps
 * the feature id of its last occurrence (as the public preprocessing scripts do, which build a
 * dict per row); a multi-valued field keeps every occurrence as `id:value`, joined by '|'.
 * An absent field is NULL.
 */
function fieldColumnsSql(): string[] {
  return ALI_CCP_FIELDS.map((field) => {
    const matching = `list_filter(feats, lambda x: x.field = ${sqlString(field)})`;
    const column = sqlIdent(aliCcpColumn(field));
    if (ALI_CCP_MULTI_FIELDS.includes(field)) {
      const items = `list_transform(${matching}, lambda x: replace(x.rest, chr(3), ${sqlString(ALI_CCP_WEIGHT_SEPARATOR)}))`;
      return `nullif(array_to_string(${items}, ${sqlString(ALI_CCP_ITEM_SEPARATOR)}), '') AS ${column}`;
    }
    return `split_part(${matching}[-1].rest, chr(3), 1) AS ${column}`;
  });
}

/** Rows of a raw file with their features parsed into one column per field. */
function parsedRowsSql(kind: AliCcpFileKind, file: string, keep: string[]): string {
  return (
    `SELECT ${[...keep, ...fieldColumnsSql()].join(', ')} FROM (` +
    `SELECT ${keep.join(', ')}, ${PARSED_FEATURES_SQL} AS feats FROM ${readRawSql(kind, file)} ` +
    `WHERE ${raiseOnMalformedSql(kind)})`
  );
}

/** Builds the in-database table of common features, one row per common_feature_index. */
export function createCommonTableSql(commonFile: string, table: string): string {
  return `CREATE TEMP TABLE ${sqlIdent(table)} AS ${parsedRowsSql('common', commonFile, ['idx'])}`;
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
export function copyJoinedSql(skeletonFile: string, commonTable: string, outFile: string): string {
  const columns = ALI_CCP_FIELDS.map((field) => {
    const column = aliCcpColumn(field);
    return `coalesce(s.${sqlIdent(column)}, struct_extract(s.common, ${sqlString(column)})) AS ${sqlIdent(column)}`;
  });
  const table = sqlIdent(commonTable);
  return (
    `COPY (SELECT CAST(s.click AS INTEGER) AS click, CAST(s.buy AS INTEGER) AS buy, ${columns.join(', ')} ` +
    `FROM (SELECT *, (SELECT c FROM ${table} c WHERE c.idx = skeleton.idx) AS common ` +
    `FROM (${parsedRowsSql('skeleton', skeletonFile, ['click', 'buy', 'idx'])}) skeleton) s) ` +
    `TO ${sqlString(outFile)} (FORMAT parquet, COMPRESSION zstd)`
  );
}
