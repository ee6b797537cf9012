/**
 * One DuckDB instance per process (in memory), plus the translation of DuckDB's multi-line
 * errors into our one-line UserErrors.
 *
 * Why a pre-check query: a streaming DuckDB result that fails half-way (a ragged CSV row at row
 * 250,001, say) ends exactly like an exhausted one; the C API's fetch returns an empty chunk and
 * the error is never surfaced (see duckdb/duckdb-rs#664 for the same issue in another binding).
 * So the reader first runs a materialised `count(*)` over the same source, which parses every
 * record and does raise, and then checks that the stream delivered that many rows.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { UserError } from '../errors.js';

let instance: Promise<DuckDBInstance> | undefined;

/** A new connection to the process-wide in-memory DuckDB instance. Close it with closeSync(). */
export async function connectDuckDB(): Promise<DuckDBConnection> {
  instance ??= DuckDBInstance.create(':memory:');
  return (await instance).connect();
}

/** SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** SQL quoted identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Turns a DuckDB error raised while reading `file` into a one-line UserError.
 * `lineToRow` maps DuckDB's reported line to our 1-based data row (CSV: line 1 is the header).
 */
export function translateDuckDBError(err: unknown, file: string, lineToRow: (line: number) => number): UserError {
  const text = err instanceof Error ? err.message : String(err);
  const csvLine = /CSV Error on Line: (\d+)/.exec(text);
  if (csvLine !== null) {
    const row = lineToRow(Number(csvLine[1]));
    const fields = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(text);
    if (fields !== null) {
      const more = Number(fields[2]) > Number(fields[1]) ? 'too many' : 'too few';
      return new UserError(`ragged row: ${more} fields (expected ${fields[1]}, found ${fields[2]})`, { file, row });
    }
    if (/unterminated quote/i.test(text)) {
      return new UserError('unterminated quote (a field opens a quote that never closes)', { file, row });
    }
    if (/Invalid unicode|UTF-8/i.test(text)) {
      return new UserError('invalid UTF-8 text', { file, row });
    }
    return new UserError(`malformed CSV: ${firstLineOf(text, /CSV Error on Line: \d+/)}`, { file, row });
  }
  const json = /(Malformed JSON|JSON transform error)[^:]*?in line (\d+): ([^\n]*)/.exec(text);
  if (json !== null) {
    return new UserError(`malformed JSON: ${json[3]!.trim()}`, { file, row: lineToRow(Number(json[2])) });
  }
  if (/No such file|Cannot open file|does not exist/i.test(text)) {
    return new UserError('cannot open file', { file });
  }
  return new UserError(`cannot read: ${firstLineOf(text)}`, { file });
}

/** The first meaningful line of a DuckDB message, without its "Invalid Input Error: " prefix. */
function firstLineOf(text: string, skip?: RegExp): string {
  const lines = text
    .split('\n')
    .map((l) => l.replace(/^[A-Za-z ]+ Error: /, '').trim())
    .filter((l) => l !== '' && (skip === undefined || !skip.test(l)) && !l.startsWith('Original Line'));
  return lines[0] ?? text.trim();
}
