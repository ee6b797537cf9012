/** SQL fragments shared by the presets. */
import { UserError } from '../../errors.js';
import { sqlIdent } from '../sql-text.js';
import type { LabelMode, RowCheck, SourceColumn } from './types.js';

/**
 * The quoted source column whose name, with surrounding spaces trimmed, is `wanted`. Files such
 * as UCI Adult separate columns with ', ', so their header names start with a space.
 */
export function sourceColumn(columns: readonly SourceColumn[], wanted: string): string {
  const found = columns.find((c) => c.name.trim() === wanted);
  if (found === undefined) throw new UserError(`missing column '${wanted}'`);
  return sqlIdent(found.name);
}

/** A text cell trimmed, with '' (and `missing`, when given) read as NULL. */
export function trimmedTextSql(column: string, missing?: string): string {
  const trimmed = `nullif(trim(CAST(${column} AS VARCHAR)), '')`;
  return missing === undefined ? trimmed : `nullif(${trimmed}, ${`'${missing.replaceAll("'", "''")}'`})`;
}

/** A row whose cell is not 0 or 1. */
export function notBinaryCheck(column: string, name: string): RowCheck {
  return { sql: `coalesce(trim(CAST(${column} AS VARCHAR)) NOT IN ('0', '1'), true)`, message: `column '${name}' must be 0 or 1` };
}

/** A 0/1 label cell as INTEGER; anything else is NULL (the reader counts NULL as a bad label). */
export function binaryLabelSql(column: string): string {
  return `CASE trim(CAST(${column} AS VARCHAR)) WHEN '0' THEN 0 WHEN '1' THEN 1 END`;
}

/** The label items of a SELECT list: none when labels are not read (scoring). */
export function labelItems(labels: LabelMode, items: () => string[]): string[] {
  return labels === 'none' ? [] : items();
}

/** Label rules apply only when labels are checked (not skipped, not absent). */
export function labelChecks(labels: LabelMode, checks: () => RowCheck[]): RowCheck[] {
  return labels === 'checked' ? checks() : [];
}

/** A row whose non-empty cell is not a number. */
export function notNumberCheck(column: string, name: string): RowCheck {
  const text = `nullif(trim(CAST(${column} AS VARCHAR)), '')`;
  return { sql: `(${text} IS NOT NULL AND TRY_CAST(${text} AS DOUBLE) IS NULL)`, message: `column '${name}' must be a number` };
}

/** A number cell as DOUBLE (empty -> NULL). */
export function numberSql(column: string): string {
  return `CAST(nullif(trim(CAST(${column} AS VARCHAR)), '') AS DOUBLE)`;
}

/** DuckDB types read as numeric features (floating point and decimals). */
export function isFloatingType(type: string): boolean {
  return /^(DOUBLE|FLOAT|REAL|DECIMAL)/i.test(type);
}
