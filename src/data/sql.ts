/**
 * Builds the DuckDB queries that read one file for one schema: the source (read_csv, read_json,
 * read_parquet), the projection that turns cells into label codes, strings and doubles, and a
 * `problem` column that is '' for a good row and names the first row-level problem otherwise.
 *
 * Row-level checks run in SQL so JavaScript touches only the columns it keeps; the row loop in
 * reader.ts then looks at one (almost always empty) string per row.
 */
import { UserError } from '../errors.js';
import { labelColumns, requiredColumns, type Schema } from './schema.js';
import { sqlIdent, sqlString } from './duckdb.js';
import type { FileFormat } from './format.js';
import type { RawColumns } from './chunks.js';

/**
 * How a source column is typed: text (CSV, JSON read as VARCHAR), number-like, other, json (a
 * JSONL category column read as JSON, so an object or array can be told from a string and
 * refused), or nested (a Parquet LIST, STRUCT or MAP: never a category value).
 */
export type SourceKind = 'text' | 'number' | 'other' | 'json' | 'nested';

export interface SourceColumn {
  name: string;
  kind: SourceKind;
  /** The file's own type name (Parquet), for messages. */
  type?: string;
}

/** Separator inside the problem string: reason, column, raw value. */
export const PROBLEM_SEP = '\u001f';

/** Reasons a row can be invalid (keys of ReadStats.skippedByReason). */
export type ProblemReason = 'bad_label' | 'buy_without_click' | 'action_without_click' | 'bad_numeric' | 'nested_value';

export interface PlanOptions {
  labelsOptional: boolean;
  /** Scoring: label columns are not read even when present (all labels read as 0). */
  ignoreLabels?: boolean;
  stageColumn?: string;
}

/**
 * The read query and where each schema column lands in its result. `labels` are in schema order
 * and result columns 0..labels-1 are their 0/1 codes (TINYINT); `truth` holds only the truth
 * columns present in the file (absent ones are skipped: predict files lack them).
 */
export interface ReadPlan extends RawColumns {
  sql: string;
  /** A materialised query that parses every record (raises errors the stream would swallow). */
  countSql: string;
}

/** DuckDB table function call reading `file`. */
export function sourceSql(file: string, format: FileFormat, delimiter: string, columns: SourceColumn[], header = true): string {
  const path = sqlString(file);
  if (format === 'parquet') return `read_parquet(${path})`;
  const varcharColumns = `{${columns.map((c) => `${sqlString(c.name)}: '${c.kind === 'json' ? 'JSON' : 'VARCHAR'}'`).join(', ')}}`;
  if (format === 'jsonl') {
    return `read_json(${path}, format='newline_delimited', records=true, columns=${varcharColumns})`;
  }
  // Strict options: a row with too many or too few fields is an error, never padded or dropped.
  return (
    `read_csv(${path}, header=${header}, auto_detect=false, strict_mode=true, null_padding=false, ` +
    `ignore_errors=false, delim=${sqlString(delimiter)}, quote='"', escape='"', columns=${varcharColumns})`
  );
}

export function planRead(source: string, file: string, available: SourceColumn[], schema: Schema, opts: PlanOptions): ReadPlan {
  const byName = new Map(available.map((c) => [c.name, c]));
  const labels = labelColumns(schema);
  const derived = opts.stageColumn !== undefined ? new Set([schema.labels.click, schema.labels.buy]) : new Set<string>();
  const ignore = opts.ignoreLabels === true;
  const needed = requiredColumns(schema).filter((c) => !derived.has(c) && !((opts.labelsOptional || ignore) && labels.includes(c)));
  if (opts.stageColumn !== undefined && !opts.labelsOptional && !ignore) needed.unshift(opts.stageColumn);
  const missing = needed.filter((c) => !byName.has(c));
  if (missing.length > 0) {
    throw new UserError(
      `missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}; the file has: ${available.map((c) => c.name).join(', ')}`,
      { file, column: missing[0] },
    );
  }

  const inner: string[] = [];
  const outer: string[] = [];
  const problems: string[] = [];
  const labelCode = (i: number) => `__esmm_l${i}`;

  // Labels: codes 0/1, or -1 for anything else (empty, 'yes', 2, 0.5).
  labels.forEach((name, i) => {
    const stage = !ignore && opts.stageColumn !== undefined && derived.has(name) && byName.has(opts.stageColumn);
    const col = ignore ? undefined : byName.get(name);
    if (stage) {
      // Stage-coded logs (AliExpress): 0 impression, 1 click, 2 conversion.
      const s = `TRY_CAST(${asNumberable(byName.get(opts.stageColumn!)!)} AS DOUBLE)`;
      const isBuy = name === schema.labels.buy;
      inner.push(`CASE ${s} WHEN 0 THEN 0 WHEN 1 THEN ${isBuy ? 0 : 1} WHEN 2 THEN 1 ELSE -1 END::TINYINT AS ${labelCode(i)}`);
      problems.push(problem(`${labelCode(i)} = -1`, 'bad_label', opts.stageColumn!, rawText(byName.get(opts.stageColumn!)!)));
    } else if (col !== undefined) {
      inner.push(`CASE TRY_CAST(${asNumberable(col)} AS DOUBLE) WHEN 0 THEN 0 WHEN 1 THEN 1 ELSE -1 END::TINYINT AS ${labelCode(i)}`);
      problems.push(problem(`${labelCode(i)} = -1`, 'bad_label', name, rawText(col)));
    } else {
      inner.push(`0::TINYINT AS ${labelCode(i)}`); // labelsOptional and absent: read as 0
    }
    outer.push(labelCode(i));
  });
  // Funnel order (ESMM: buy is only observable after a click): buy=1 or action=1 needs click=1.
  const clickCode = labelCode(0);
  problems.push(problem(`${labelCode(1)} = 1 AND ${clickCode} = 0`, 'buy_without_click', schema.labels.buy, "''"));
  (schema.labels.actions ?? []).forEach((name, k) => {
    problems.push(problem(`${labelCode(2 + k)} = 1 AND ${clickCode} = 0`, 'action_without_click', name, "''"));
  });

  const multiValued = (schema.multi_valued ?? []).map((m) => m.name);
  // A category is a string or a number: a JSON object/array or a Parquet list is refused, not stringified.
  for (const name of [...schema.categorical, ...multiValued, ...(schema.group !== undefined ? [schema.group] : [])]) {
    const col = byName.get(name)!;
    if (col.kind === 'nested') {
      throw new UserError(`holds nested values (${col.type ?? 'a list or struct'}); a categorical column needs a string or number per row (a list belongs in schema.multi_valued as one separated string)`, { file, column: name });
    }
    if (col.kind === 'json') problems.push(problem(`json_type(${sqlIdent(name)}) IN ('OBJECT', 'ARRAY')`, 'nested_value', name, rawText(col)));
  }
  for (const name of schema.categorical) outer.push(textOf(byName.get(name)!));
  for (const name of multiValued) outer.push(textOf(byName.get(name)!));

  const numeric = schema.numeric ?? [];
  const truth = (schema.truth ?? []).filter((t) => byName.has(t));
  const doubles = [...numeric, ...truth];
  doubles.forEach((name, i) => {
    const col = byName.get(name)!;
    const n = `__esmm_n${i}`;
    inner.push(`TRY_CAST(${asNumberable(col)} AS DOUBLE) AS ${n}`);
    // NaN and Inf are refused as values; an empty cell is missing (NaN downstream).
    const bad =
      col.kind === 'number'
        ? `${n} IS NOT NULL AND NOT isfinite(${n})`
        : `${sqlIdent(name)} IS NOT NULL AND trim(CAST(${sqlIdent(name)} AS VARCHAR)) <> '' AND (${n} IS NULL OR NOT isfinite(${n}))`;
    problems.push(problem(bad, 'bad_numeric', name, rawText(col)));
    // Never NULL (missing is NaN): a NULL-free vector has no validity mask to test per cell.
    outer.push(`coalesce(CASE WHEN isfinite(${n}) THEN ${n} END, 'NaN'::DOUBLE)`);
  });
  if (schema.group !== undefined) outer.push(textOf(byName.get(schema.group)!));

  // '' for a good row (never NULL, see fast-text.ts).
  outer.push(problems.length > 0 ? `coalesce(CASE ${problems.join(' ')} END, '')` : "''");
  const innerSql = `SELECT ${[...inner, '*'].join(', ')} FROM ${source}`;
  return {
    sql: `SELECT ${outer.join(', ')} FROM (${innerSql})`,
    countSql: `SELECT count(*)::DOUBLE FROM ${source}`,
    labels,
    categorical: schema.categorical,
    multiValued,
    numeric,
    ...(schema.group !== undefined ? { group: schema.group } : {}),
    truth,
  };
}

function problem(condition: string, reason: ProblemReason, column: string, raw: string): string {
  const sep = sqlString(PROBLEM_SEP);
  return `WHEN ${condition} THEN ${sqlString(reason)} || ${sep} || ${sqlString(column)} || ${sep} || coalesce(${raw}, '')`;
}

/** The cell as text ('' when missing). */
function textOf(col: SourceColumn): string {
  const ref = sqlIdent(col.name);
  if (col.kind === 'json') return `coalesce(CASE json_type(${ref}) WHEN 'VARCHAR' THEN ${ref}->>'$' ELSE CAST(${ref} AS VARCHAR) END, '')`;
  return col.kind === 'text' ? `coalesce(${ref}, '')` : `coalesce(CAST(${ref} AS VARCHAR), '')`;
}

function rawText(col: SourceColumn): string {
  return col.kind === 'text' ? sqlIdent(col.name) : `CAST(${sqlIdent(col.name)} AS VARCHAR)`;
}

/** An expression TRY_CAST can turn into DOUBLE (other types go through text first). */
function asNumberable(col: SourceColumn): string {
  return col.kind === 'other' ? `CAST(${sqlIdent(col.name)} AS VARCHAR)` : sqlIdent(col.name);
}
