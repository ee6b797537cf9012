/** Quoting helpers for the DuckDB SQL this folder builds from file paths and column names. */

/** A SQL string literal: 'it''s'. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier: "my ""col""". */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
