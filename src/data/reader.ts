/**
 * Reads CSV, TSV, JSON lines and Parquet files through DuckDB into RawChunks, validating every
 * row against the schema. See docs in ReadOptions; errors are one-line UserErrors naming the
 * file, the 1-based data row and the column.
 *
 *   for await (const chunk of readChunks('train.csv', { schema })) { ... }
 *   const { data, stats } = await readAll('train.csv', { schema, skipInvalid: true });
 */
import { statSync } from 'node:fs';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBResult, DuckDBVector } from '@duckdb/node-api';
import { UserError } from '../errors.js';
import type { RawChunk } from './batch.js';
import type { Schema } from './schema.js';
import { concatChunks, emptyRawChunk, RawChunkBuilder, type RawColumns } from './chunks.js';
import { connectDuckDB, sqlString, translateDuckDBError } from './duckdb.js';
import { defaultDelimiter, detectFormat, type FileFormat } from './format.js';
import { headerLooksLikeData, looksLikeData, readCsvHeader, readFirstRecord } from './csv-header.js';
import { labelColumns, requiredColumns } from './schema.js';
import { TextColumnReader } from './fast-text.js';
import { findBadJsonLine } from './jsonl-errors.js';
import { planRead, PROBLEM_SEP, sourceSql, type ProblemReason, type ReadPlan, type SourceColumn } from './sql.js';
import { validateSchema } from './validate-schema.js';
import { holdoutFileKey, inHoldout, inValidation, type RowSplit } from './stream-holdout.js';

export const DEFAULT_CHUNK_ROWS = 65_536;

export interface ReadOptions {
  schema: Schema;
  /** Rows per RawChunk (the last may be shorter). Default 65,536. */
  chunkRows?: number;
  /**
   * Skip rows with a bad label, a buy (or action) without a click, or a bad numeric cell, and
   * count them in ReadStats, instead of failing. Structural problems (missing column, ragged row,
   * unterminated quote, empty file) always fail.
   */
  skipInvalid?: boolean;
  /** Format; default from the extension (.csv .tsv .jsonl .ndjson .parquet). */
  format?: FileFormat;
  /** Field delimiter for csv/tsv; default ',' or tab. */
  delimiter?: string;
  /** Predict time: label columns may be absent and then read as 0. */
  labelsOptional?: boolean;
  /** Scoring: label columns are never read (read as 0 even when present), so no label problem stops the read. */
  ignoreLabels?: boolean;
  /** CSV/TSV: false when the file has no header row (then `columns` names its columns). Default true. */
  header?: boolean;
  /** Column names of a header-less CSV/TSV file, in file order (config key data.columns). */
  columns?: string[];
  /**
   * Stage-coded logs (AliExpress style): this column holds 0 = impression, 1 = click,
   * 2 = conversion, and the schema's click/buy labels are derived from it (click = stage >= 1,
   * buy = stage >= 2) instead of being read from columns.
   */
  stageColumn?: string;
  /**
   * Parquet only: read rows [start, end) of the file (0-based, by file_row_number), for the
   * streaming trainer's blocks. Row numbers in errors stay those of the whole file.
   */
  rowRange?: { start: number; end: number };
  /** Keep only the training or the held-out side of a streaming hold-out (stream-holdout.ts). */
  split?: RowSplit;
  /**
   * Keep only rows whose 0-based file row number mod `of` is `is` (a store worker's share of a
   * text file, distributed/partition-files.ts). DuckDB still parses every row; the others are
   * neither converted, validated nor counted as kept or skipped (ReadStats.rows counts them all).
   */
  rowModulo?: { of: number; is: number };
}

export interface SkippedRow {
  row: number;
  reason: ProblemReason;
  column: string;
  value: string;
}

export interface ReadStats {
  /** Data rows read from the file (kept + skipped). */
  rows: number;
  /** Rows delivered in chunks. */
  kept: number;
  skipped: number;
  /** Skipped rows by reason: bad_label, buy_without_click, action_without_click, bad_numeric. */
  skippedByReason: Record<string, number>;
  /** The first few skipped rows, for reports. */
  skippedExamples: SkippedRow[];
}

/** The chunks of a file; `stats` is complete once iteration has finished. */
export interface ChunkStream extends AsyncIterable<RawChunk> {
  readonly stats: ReadStats;
}

const MAX_EXAMPLES = 5;

export function readChunks(file: string, opts: ReadOptions): ChunkStream {
  const stats: ReadStats = { rows: 0, kept: 0, skipped: 0, skippedByReason: {}, skippedExamples: [] };
  return {
    stats,
    [Symbol.asyncIterator]: () => streamFile(file, opts, stats),
  };
}

/** The whole file as one RawChunk. */
export async function readAll(file: string, opts: ReadOptions): Promise<{ data: RawChunk; stats: ReadStats }> {
  const stream = readChunks(file, { ...opts, chunkRows: opts.chunkRows ?? DEFAULT_CHUNK_ROWS });
  const chunks: RawChunk[] = [];
  let columns: RawColumns | undefined;
  for await (const chunk of stream) chunks.push(chunk);
  if (chunks.length === 0) {
    columns = await emptyColumns(file, opts);
    return { data: emptyRawChunk(file, columns), stats: stream.stats };
  }
  return { data: concatChunks(chunks), stats: stream.stats };
}

async function* streamFile(file: string, opts: ReadOptions, stats: ReadStats): AsyncGenerator<RawChunk> {
  const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new UserError(`chunkRows must be a positive integer, got ${chunkRows}`);
  const con = await connectDuckDB();
  try {
    const { plan, format, header } = await prepare(con, file, opts);
    const expected = await countRows(con, plan, file, format, header);
    if (expected === 0 && opts.rowRange !== undefined) return;
    if (expected === 0) throw new UserError('no data rows (the file has no rows after the header)', { file });
    yield* convertRows(await con.stream(plan.sql), file, plan, opts, stats, expected);
  } finally {
    con.closeSync();
  }
}

/**
 * A DuckDB connection kept open across many row-range reads of the same Parquet files (the
 * streaming trainer's blocks), each file described once. One query runs at a time: `start`
 * launches a block's query (DuckDB works on it in its own threads while JavaScript trains on the
 * previous block) and `finish` converts its materialised result.
 */
export class RangeReader {
  private readonly described = new Map<string, SourceColumn[]>();
  private constructor(private readonly con: DuckDBConnection) {}

  static async open(): Promise<RangeReader> {
    return new RangeReader(await connectDuckDB());
  }

  /** Launch the read of rows [start, end) of `file` (end at most the file's row count). */
  async start(file: string, opts: ReadOptions & { rowRange: { start: number; end: number } }): Promise<PendingRange> {
    let columns = this.described.get(file);
    if (columns === undefined) {
      columns = (await prepare(this.con, file, opts)).columns;
      this.described.set(file, columns);
    }
    const { plan } = await prepare(this.con, file, opts, columns);
    // A materialised result raises DuckDB's errors (a streamed one could end silently early).
    const result = this.con.run(plan.sql);
    result.catch(() => undefined); // awaited in finish; never an unhandled rejection meanwhile
    return { file, opts, plan, result };
  }

  /** The kept rows of a started range as one chunk; undefined when none is kept. */
  async finish(p: PendingRange, stats?: ReadStats): Promise<RawChunk | undefined> {
    const { start, end } = p.opts.rowRange;
    const st = stats ?? { rows: 0, kept: 0, skipped: 0, skippedByReason: {}, skippedExamples: [] };
    let out: RawChunk | undefined;
    const result = await p.result.catch((e: unknown) => {
      throw translateDuckDBError(e, p.file, (line) => line);
    });
    for await (const chunk of convertRows(result, p.file, p.plan, { ...p.opts, chunkRows: Math.max(1, end - start) }, st, end - start)) out = chunk;
    return out;
  }

  close(): void {
    this.con.closeSync();
  }
}

export interface PendingRange {
  file: string;
  opts: ReadOptions & { rowRange: { start: number; end: number } };
  plan: ReadPlan;
  result: Promise<DuckDBResult>;
}

/**
 * The rows of a DuckDB result of `plan.sql`, validated and split into RawChunks of opts.chunkRows
 * (rows of another opts.split side dropped, see stream-holdout.ts); `expected` rows must arrive.
 */
async function* convertRows(result: DuckDBResult, file: string, plan: ReadPlan, opts: ReadOptions, stats: ReadStats, expected: number): AsyncGenerator<RawChunk> {
  const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const rowOffset = opts.rowRange?.start ?? 0;
  const columns = rawColumnsOf(plan);
  let builder = new RawChunkBuilder(file, columns, chunkRows);
  const L = plan.labels.length;
  const C = plan.categorical.length;
  const M = plan.multiValued.length;
  const N = plan.numeric.length;
  const T = plan.truth.length;
  const hasGroup = plan.group !== undefined ? 1 : 0;
  const problemIndex = L + C + M + N + T + hasGroup;
  const inSide = opts.split !== undefined ? splitFilter(opts.split, file, plan) : undefined;
  const mod = opts.rowModulo;
  let keep = new Int32Array(2048);
  let all = Int32Array.from({ length: 2048 }, (_, i) => i);
  const problems: string[] = [];
  const problemText = new TextColumnReader();
  const categoricalText = plan.categorical.map(() => new TextColumnReader());
  const multiText = plan.multiValued.map(() => new TextColumnReader());
  const groupText = new TextColumnReader();

  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    if (n > keep.length) keep = new Int32Array(n);
    const base = stats.rows + rowOffset; // rows before this DuckDB chunk; row i is base + i + 1
    if (all.length < n) all = Int32Array.from({ length: n }, (_, i) => i);
    problemText.copy(chunk.getColumnVector(problemIndex), all, 0, n, problems, 0);
    const side = inSide?.(chunk, base, n);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (mod !== undefined && (base + i) % mod.of !== mod.is) continue;
      const problem = problems[i]!;
      if (problem !== '') recordProblem(problem, file, base + i + 1, opts, stats);
      else if (side === undefined || side[i] === 1) keep[kept++] = i;
    }
    stats.rows += n;
    const vec = (j: number): DuckDBVector => chunk.getColumnVector(j);
    let from = 0;
    while (from < kept) {
      const take = Math.min(kept - from, builder.capacity - builder.rows);
      const at = builder.rows;
      if (at === 0) builder.firstRow = base + keep[from]! + 1;
      let col = 0;
      for (let l = 0; l < L; l++) copyCodes(vec(col++), keep, from, take, builder.labels[l]!, at);
      for (let c = 0; c < C; c++) categoricalText[c]!.copy(vec(col++), keep, from, take, builder.categorical[c]!, at);
      for (let m = 0; m < M; m++) multiText[m]!.copy(vec(col++), keep, from, take, builder.multiValued[m]!, at);
      for (let x = 0; x < N; x++) copyDoubles(vec(col++), keep, from, take, builder.numeric[x]!, at);
      for (let t = 0; t < T; t++) copyDoubles(vec(col++), keep, from, take, builder.truth[t]!, at);
      if (builder.group !== undefined) groupText.copy(vec(col++), keep, from, take, builder.group, at);
      builder.rows += take;
      stats.kept += take;
      from += take;
      if (builder.full) {
        yield builder.build();
        builder = new RawChunkBuilder(file, columns, chunkRows);
      }
    }
  }
  if (stats.rows !== expected) {
    // The stream ended early: DuckDB swallowed an error (see duckdb.ts). Should not happen
    // after the count pre-check, but never hand back a silently truncated file.
    throw new UserError(`reading stopped after row ${stats.rows} of ${expected}`, { file, row: stats.rows + 1 });
  }
  if (builder.rows > 0) yield builder.build();
}

/**
 * opts.split as a per-DuckDB-chunk filter: 1 for the rows of the requested side. Rows are keyed
 * by the file and their 0-based row number (hash rule) or by the time column's value (time rule).
 */
function splitFilter(split: RowSplit, file: string, plan: ReadPlan): (chunk: DuckDBDataChunk, base: number, n: number) => Uint8Array {
  const out = { mark: new Uint8Array(2048) };
  const rule = split.rule;
  let timeIndex = -1;
  if (rule.kind === 'time') {
    const before = plan.labels.length + plan.categorical.length + plan.multiValued.length;
    const ni = plan.numeric.indexOf(rule.column);
    const ti = plan.truth.indexOf(rule.column);
    if (ni < 0 && ti < 0) throw new UserError(`time column '${rule.column}' is not read; list it in schema.numeric or schema.truth`, { file, key: 'data.holdout.time_column' });
    timeIndex = ni >= 0 ? before + ni : before + plan.numeric.length + ti;
  }
  const key = holdoutFileKey(file);
  return (chunk, base, n) => {
    if (out.mark.length < n) out.mark = new Uint8Array(n);
    const mark = out.mark;
    if (rule.kind === 'time') {
      const v = chunk.getColumnVector(timeIndex);
      for (let i = 0; i < n; i++) mark[i] = split.side === 'train' ? (inHoldout(rule, key, 0, v.getItem(i) as number) ? 0 : 1) : inValidation(rule, key, 0, v.getItem(i) as number) ? 1 : 0;
    } else {
      for (let i = 0; i < n; i++) mark[i] = split.side === 'train' ? (inHoldout(rule, key, base + i, 0) ? 0 : 1) : inValidation(rule, key, base + i, 0) ? 1 : 0;
    }
    return mark;
  };
}

function copyCodes(v: DuckDBVector, keep: Int32Array, from: number, take: number, out: Uint8Array, at: number): void {
  for (let k = 0; k < take; k++) out[at + k] = v.getItem(keep[from + k]!) as number;
}

function copyDoubles(v: DuckDBVector, keep: Int32Array, from: number, take: number, out: Float64Array, at: number): void {
  for (let k = 0; k < take; k++) {
    const x = v.getItem(keep[from + k]!) as number | null;
    out[at + k] = x === null ? NaN : x;
  }
}

/** Throws the row's problem as a UserError, or counts it when skipping. */
function recordProblem(problem: string, file: string, row: number, opts: ReadOptions, stats: ReadStats): void {
  const [reason, column, value] = problem.split(PROBLEM_SEP) as [ProblemReason, string, string];
  if (opts.skipInvalid !== true) throw new UserError(describeProblem(reason, column, value, opts), { file, row, column });
  stats.skipped++;
  stats.skippedByReason[reason] = (stats.skippedByReason[reason] ?? 0) + 1;
  if (stats.skippedExamples.length < MAX_EXAMPLES) stats.skippedExamples.push({ row, reason, column, value });
}

function describeProblem(reason: ProblemReason, column: string, value: string, opts: ReadOptions): string {
  const shown = value === '' ? 'an empty cell' : `'${value}'`;
  const click = opts.schema.labels.click;
  switch (reason) {
    case 'bad_label':
      return column === opts.stageColumn
        ? `stage must be 0 (impression), 1 (click) or 2 (conversion), got ${shown} (data.skip_invalid: true skips such rows)`
        : `label must be 0 or 1, got ${shown} (data.skip_invalid: true skips such rows)`;
    case 'buy_without_click':
      return `conversion without a click ('${column}'=1 but '${click}'=0); fix the row or skip such rows with data.skip_invalid: true (eval: --skip-invalid)`;
    case 'action_without_click':
      return `post-click action without a click ('${column}'=1 but '${click}'=0); fix the row or skip such rows with data.skip_invalid: true (eval: --skip-invalid)`;
    case 'nested_value':
      return `a JSON ${value.trim().startsWith('[') ? 'array' : 'object'} is not a category value (${shown}); a categorical column needs a string or number`;
    case 'bad_numeric':
      return /^\s*[+-]?(nan|inf|infinity)\s*$/i.test(value)
        ? `${value.trim()} is not allowed in a numeric column (leave the cell empty for a missing value)`
        : `not a number: ${shown}`;
  }
}

/** Checks the schema, finds the file's columns and builds the read query. */
export async function prepare(con: DuckDBConnection, file: string, opts: ReadOptions, described?: SourceColumn[]): Promise<{ plan: ReadPlan; format: FileFormat; header: boolean; columns: SourceColumn[] }> {
  validateSchema(opts.schema);
  const format = detectFormat(file, opts.format);
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new UserError('is a directory, expected a data file', { file });
    size = st.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError('file not found', { file });
  }
  if (size === 0) throw new UserError(format === 'csv' || format === 'tsv' ? 'empty file: no header row' : 'empty file', { file });
  const delimiter = opts.delimiter ?? defaultDelimiter(format);
  const headerless = opts.header === false && (format === 'csv' || format === 'tsv');
  const given = described !== undefined;
  described ??= headerless ? headerlessColumns(file, delimiter, opts) : await describeSource(con, file, format, delimiter);
  if (!given && !headerless && (format === 'csv' || format === 'tsv')) checkHeaderIsNotData(file, described, opts);
  // JSONL category columns are read as JSON (not VARCHAR) so objects and arrays can be refused.
  const categoryColumns = new Set([...opts.schema.categorical, ...(opts.schema.multi_valued ?? []).map((m) => m.name), ...(opts.schema.group !== undefined ? [opts.schema.group] : [])]);
  const columns = format === 'jsonl' && !given ? described.map((c) => (categoryColumns.has(c.name) ? { ...c, kind: 'json' as const } : c)) : described;
  let source = sourceSql(file, format, delimiter, columns, !headerless);
  if (opts.rowRange !== undefined) {
    if (format !== 'parquet') throw new Error('rowRange reads Parquet files only');
    const { start, end } = opts.rowRange;
    source = `(SELECT * FROM read_parquet(${sqlString(file)}, file_row_number=true) WHERE file_row_number >= ${start} AND file_row_number < ${end})`;
  }
  const plan = planRead(source, file, columns, opts.schema, {
    labelsOptional: opts.labelsOptional === true,
    ...(opts.ignoreLabels === true ? { ignoreLabels: true } : {}),
    ...(opts.stageColumn !== undefined ? { stageColumn: opts.stageColumn } : {}),
  });
  return { plan, format, header: !headerless, columns };
}

/**
 * The columns of a header-less file: `columns` as given, or, when labels are optional and the
 * first row has fewer fields, `columns` without the schema's label columns (a file to score).
 */
export function headerlessColumns(file: string, delimiter: string, opts: ReadOptions): SourceColumn[] {
  const names = opts.columns;
  if (names === undefined || names.length === 0) {
    throw new UserError('a file without a header needs its column names (data.columns)', { file, key: 'data.columns' });
  }
  const fields = readFirstRecord(file, delimiter).length;
  let used = names;
  if (fields !== names.length && (opts.labelsOptional === true || opts.ignoreLabels === true)) {
    const labels = new Set(labelColumns(opts.schema));
    const withoutLabels = names.filter((n) => !labels.has(n));
    if (withoutLabels.length === fields) used = withoutLabels;
  }
  if (fields !== used.length) {
    throw new UserError(`data.columns names ${names.length} columns but the first row has ${fields} fields`, { file, row: 1, key: 'data.columns' });
  }
  return used.map((name) => ({ name, kind: 'text' }));
}

/** A header none of whose names the schema uses, and which looks like a data row: the file has no header. */
function checkHeaderIsNotData(file: string, columns: SourceColumn[], opts: ReadOptions): void {
  const names = columns.map((c) => c.name);
  const have = new Set(names);
  if (requiredColumns(opts.schema).some((c) => have.has(c))) return;
  if (looksLikeData(names)) throw headerLooksLikeData(file, names);
}

async function describeSource(con: DuckDBConnection, file: string, format: FileFormat, delimiter: string): Promise<SourceColumn[]> {
  if (format === 'csv' || format === 'tsv') {
    return readCsvHeader(file, delimiter).map((name) => ({ name, kind: 'text' }));
  }
  const source =
    format === 'parquet'
      ? `read_parquet(${sqlString(file)})`
      : `read_json(${sqlString(file)}, format='newline_delimited', records=true)`;
  let rows: unknown[][];
  try {
    rows = await (await con.run(`DESCRIBE SELECT * FROM ${source}`)).getRows();
  } catch (e) {
    throw await translateError(e, file, format);
  }
  if (rows.length === 0) throw new UserError('empty file: no columns', { file });
  return rows.map(([name, type]) => ({
    name: String(name),
    // JSON is read as text like CSV, so ids such as 0012 and 12 stay distinct.
    kind: format === 'jsonl' ? 'text' : kindOfType(String(type)),
    type: String(type),
  }));
}

function kindOfType(type: string): SourceColumn['kind'] {
  if (type === 'VARCHAR') return 'text';
  if (/\[\d*\]$|^(STRUCT|MAP|UNION)\b/.test(type)) return 'nested';
  if (/^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*|BOOLEAN)$/.test(type)) return 'number';
  return 'other';
}

async function countRows(con: DuckDBConnection, plan: ReadPlan, file: string, format: FileFormat, header = true): Promise<number> {
  try {
    const rows = await (await con.run(plan.countSql)).getRows();
    return Number(rows[0]![0]);
  } catch (e) {
    throw await translateError(e, file, format, header);
  }
}

async function translateError(e: unknown, file: string, format: FileFormat, header = true): Promise<UserError> {
  if (format === 'jsonl') {
    const bad = await findBadJsonLine(file).catch(() => undefined);
    if (bad !== undefined) return new UserError(bad.message, { file, row: bad.row });
    return translateDuckDBError(e, file, (line) => line);
  }
  // CSV: DuckDB counts records from 1 with the header as line 1.
  return translateDuckDBError(e, file, (line) => (header ? line - 1 : line));
}

/** The columns of a read plan by role (the plan without its queries). */
function rawColumnsOf(plan: ReadPlan): RawColumns {
  return {
    labels: plan.labels,
    categorical: plan.categorical,
    multiValued: plan.multiValued,
    numeric: plan.numeric,
    ...(plan.group !== undefined ? { group: plan.group } : {}),
    truth: plan.truth,
  };
}

/** Column layout of a file whose rows were all skipped (to return an empty chunk). */
async function emptyColumns(file: string, opts: ReadOptions): Promise<RawColumns> {
  const con = await connectDuckDB();
  try {
    const { plan } = await prepare(con, file, opts);
    return rawColumnsOf(plan);
  } finally {
    con.closeSync();
  }
}
