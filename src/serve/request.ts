/**
 * Validation of a POST /predict body: `{"rows": [{column: value, ...}, ...]}`. Errors name the
 * row (0-based index into `rows`) and column so a client can find the bad cell.
 */
import type { CellValue } from '../data/rows.js';

export interface RequestError {
  error: string;
  row?: number;
  column?: string;
}

export type ParsedRequest = { ok: true; rows: Record<string, CellValue>[] } | { ok: false; error: RequestError };

export function parsePredictBody(text: string): ParsedRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return fail(`body is not valid JSON (${(e as Error).message})`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return fail('body must be a JSON object {"rows": [...]}');
  const rows = (body as { rows?: unknown }).rows;
  if (!Array.isArray(rows)) return fail('body must have a "rows" array: {"rows": [{"column": value, ...}]}');
  for (let i = 0; i < rows.length; i++) {
    const row: unknown = rows[i];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      return fail(`rows[${i}] must be an object {"column": value, ...}, got ${row === null ? 'null' : Array.isArray(row) ? 'an array' : typeof row}`, i);
    }
    for (const [column, v] of Object.entries(row)) {
      if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        return fail(`rows[${i}].${column} must be a string, number, boolean or null, got ${Array.isArray(v) ? 'an array' : typeof v}`, i, column);
      }
    }
  }
  return { ok: true, rows: rows as Record<string, CellValue>[] };
}

function fail(error: string, row?: number, column?: string): ParsedRequest {
  return { ok: false, error: { error, ...(row !== undefined ? { row } : {}), ...(column !== undefined ? { column } : {}) } };
}
