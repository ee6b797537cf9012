/**
 * In-memory rows (e.g. JSON objects posted to the in-process scorer) to a RawChunk, with the
 * same checks the file reader applies.
 */
import { UserError } from '../errors.js';
import type { RawChunk } from './batch.js';
import { labelColumns, type Schema } from './schema.js';
import { RawChunkBuilder } from './chunks.js';
import { validateSchema } from './validate-schema.js';

export type CellValue = string | number | boolean | null | undefined;

export interface RowsOptions {
  /** Label columns may be absent (predict time); absent labels read as 0. */
  labelsOptional?: boolean;
  /** Name used in error messages, default '<rows>'. */
  source?: string;
}

export function rowsToRawChunk(rows: Record<string, CellValue>[], schema: Schema, opts: RowsOptions = {}): RawChunk {
  validateSchema(schema);
  const file = opts.source ?? '<rows>';
  const labels = labelColumns(schema);
  const truth = (schema.truth ?? []).filter((t) => rows.some((r) => r[t] !== undefined));
  const builder = new RawChunkBuilder(
    file,
    {
      labels,
      categorical: schema.categorical,
      multiValued: (schema.multi_valued ?? []).map((m) => m.name),
      numeric: schema.numeric ?? [],
      ...(schema.group !== undefined ? { group: schema.group } : {}),
      truth,
    },
    rows.length,
  );
  builder.firstRow = 1;
  rows.forEach((r, i) => {
    const row = i + 1;
    const cell = (column: string, required: boolean): CellValue => {
      if (required && !(column in r)) throw new UserError('missing field', { file, row, column });
      return r[column];
    };
    labels.forEach((name, l) => {
      builder.labels[l]![i] = toLabel(cell(name, opts.labelsOptional !== true), file, row, name);
    });
    const click = builder.labels[0]![i]!;
    labels.slice(1).forEach((name, l) => {
      if (builder.labels[l + 1]![i] === 1 && click === 0) {
        throw new UserError(`'${name}'=1 but '${schema.labels.click}'=0 (no conversion or action without a click)`, { file, row, column: name });
      }
    });
    schema.categorical.forEach((name, c) => (builder.categorical[c]![i] = toText(cell(name, true))));
    (schema.multi_valued ?? []).forEach((m, c) => (builder.multiValued[c]![i] = toText(cell(m.name, true))));
    (schema.numeric ?? []).forEach((name, x) => (builder.numeric[x]![i] = toNumber(cell(name, true), file, row, name)));
    truth.forEach((name, t) => (builder.truth[t]![i] = toNumber(cell(name, false), file, row, name)));
    if (builder.group !== undefined) builder.group[i] = toText(cell(schema.group!, true));
  });
  builder.rows = rows.length;
  return builder.build();
}

function toText(v: CellValue): string {
  return v === null || v === undefined ? '' : String(v);
}

function toLabel(v: CellValue, file: string, row: number, column: string): number {
  if (v === undefined) return 0; // absent and optional
  if (v === 0 || v === '0' || v === false) return 0;
  if (v === 1 || v === '1' || v === true) return 1;
  throw new UserError(`label must be 0 or 1, got ${JSON.stringify(v)}`, { file, row, column });
}

function toNumber(v: CellValue, file: string, row: number, column: string): number {
  if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) return NaN;
  const x = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(x)) {
    throw new UserError(`not a finite number: ${JSON.stringify(v)}`, { file, row, column });
  }
  return x;
}
