/**
 * Which training rows worker I of N reads (`esmm train --store ... --worker I/N` on files): every
 * worker computes the same plan from the sorted file list and cheap metadata, then reads only its
 * own pieces (load-partition.ts).
 *
 * - Parquet files: the files, in sorted order, are one sequence of rows cut into N contiguous
 *   ranges of equal size (row counts from the footers). A file a range covers is read whole; one
 *   it covers in part is read by a file_row_number range, which DuckDB turns into row-group
 *   pruning (measured in docs/distributed.md); a row group cut between two workers is decoded by
 *   both. So 2 equal files for 2 workers are one file each, and 3 for 2 are 1.5 each (whole
 *   files would leave one worker idle for a third of every epoch's rounds).
 * - CSV / TSV / JSONL (or a mix), as many files as workers or more: whole files, balanced by bytes
 *   on disk, largest first onto the least loaded worker (ties: the lower file index, the lower
 *   worker). Fewer files than workers: rows whose 0-based number mod N == I of every file; DuckDB
 *   has to parse the whole text file anyway (there is no seeking into a CSV by row), but only the
 *   worker's rows are converted to JavaScript, validated and encoded. (A Parquet file in such a
 *   mix is cut into N ranges.)
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { connectDuckDB, sqlString } from '../data/duckdb.js';
import { detectFormat, type FileFormat } from '../data/format.js';

export interface FileInfo {
  file: string;
  parquet: boolean;
  bytes: number;
  /** Parquet: rows of each row group, in file order (from the footer). */
  rowGroups?: number[];
}

/** One piece of a worker's share. */
export type PartPiece =
  | { file: string; kind: 'whole' }
  /** Parquet rows [start, end) by file_row_number. */
  | { file: string; kind: 'range'; start: number; end: number }
  /** Text rows whose 0-based number mod `of` == `is`. */
  | { file: string; kind: 'modulo'; of: number; is: number };

/** Sizes and (Parquet) row groups of the training files, read from the footers, not the rows. */
export async function describeFiles(files: string[], format?: FileFormat): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  const con = await connectDuckDB();
  try {
    for (const file of files) {
      const parquet = detectFormat(file, format) === 'parquet';
      const info: FileInfo = { file, parquet, bytes: statSync(file, { throwIfNoEntry: false })?.size ?? 0 };
      if (parquet) {
        const rows = await (await con.run(`SELECT row_group_id, any_value(row_group_num_rows)::DOUBLE FROM parquet_metadata(${sqlString(file)}) GROUP BY row_group_id ORDER BY row_group_id`)).getRows();
        info.rowGroups = rows.map((r) => Number(r[1]));
      }
      out.push(info);
    }
  } finally {
    con.closeSync();
  }
  return out;
}

/** Rows of a Parquet file (sum of its row groups). */
function parquetRows(f: FileInfo): number {
  return (f.rowGroups ?? []).reduce((a, b) => a + b, 0);
}

/** The pieces of every worker (index = worker). Deterministic: every worker computes the same plan. */
export function planPartitions(infos: FileInfo[], workers: number): PartPiece[][] {
  const plan: PartPiece[][] = Array.from({ length: workers }, () => []);
  if (infos.every((f) => f.parquet)) return parquetPlan(infos, workers);
  if (infos.length >= workers) {
    // Text files cannot be cut cheaply: whole files, balanced by bytes, largest first onto the least loaded worker.
    const order = infos.map((_, i) => i).sort((a, b) => infos[b]!.bytes - infos[a]!.bytes || a - b);
    const load = new Array<number>(workers).fill(0);
    const owner = new Array<number>(infos.length).fill(0);
    for (const i of order) {
      let w = 0;
      for (let k = 1; k < workers; k++) if (load[k]! < load[w]!) w = k;
      owner[i] = w;
      load[w]! += infos[i]!.bytes;
    }
    // Each worker reads its files in file-list order.
    infos.forEach((f, i) => plan[owner[i]!]!.push({ file: f.file, kind: 'whole' }));
    return plan;
  }
  for (const f of infos) {
    if (!f.parquet) {
      for (let w = 0; w < workers; w++) plan[w]!.push({ file: f.file, kind: 'modulo', of: workers, is: w });
      continue;
    }
    parquetPlan([f], workers).forEach((pieces, w) => plan[w]!.push(...pieces));
  }
  return plan;
}

/**
 * Parquet files, taken in order as one sequence of rows, cut into N contiguous ranges of
 * floor(k·rows/N): a file a range covers is read whole, a file it covers in part is read by a
 * file_row_number range (DuckDB skips the row groups outside it; a row group cut between two
 * workers is decoded by both, which costs one row group per cut).
 */
function parquetPlan(infos: FileInfo[], workers: number): PartPiece[][] {
  const plan: PartPiece[][] = Array.from({ length: workers }, () => []);
  const total = infos.reduce((s, f) => s + parquetRows(f), 0);
  const cut = (k: number): number => Math.floor((k * total) / workers);
  let offset = 0;
  for (const f of infos) {
    const rows = parquetRows(f);
    for (let w = 0; w < workers; w++) {
      const start = Math.max(cut(w), offset) - offset;
      const end = Math.min(cut(w + 1), offset + rows) - offset;
      if (end <= start) continue;
      plan[w]!.push(start === 0 && end === rows ? { file: f.file, kind: 'whole' } : { file: f.file, kind: 'range', start, end });
    }
    offset += rows;
  }
  return plan;
}

/** "a.parquet; b.parquet rows 0-99,999; c.csv rows mod 2 = 1" for the log line. */
export function describePieces(pieces: PartPiece[]): string {
  return pieces
    .map((p) => {
      const name = basename(p.file);
      if (p.kind === 'whole') return name;
      if (p.kind === 'range') return `${name} rows ${p.start.toLocaleString('en-US')}-${(p.end - 1).toLocaleString('en-US')}`;
      return `${name} rows mod ${p.of} = ${p.is}`;
    })
    .join('; ');
}
