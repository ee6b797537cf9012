/**
 * Which training rows worker I of N reads (`esmm train --store ... --worker I/N` on files): every
 * worker computes the same plan from the sorted file list and cheap metadata, then reads only its
 * own pieces (load-partition.ts).
 *
 * - As many files as workers or more: whole files, balanced by weight (Parquet: rows from the
 *   footer; text files: bytes on disk), largest first onto the least loaded worker (ties: the
 *   lower file index, the lower worker). A worker reads only its files.
 * - Fewer files than workers: each file is split N ways. Parquet: N contiguous row ranges cut at
 *   row-group boundaries when the file has at least N row groups (DuckDB then skips the other
 *   groups: a range filter on file_row_number prunes row groups, measured in docs/distributed.md),
 *   else N equal row ranges (each worker decodes the row group but materialises only its rows).
 *   CSV / TSV / JSONL: rows whose 0-based number mod N == I; DuckDB has to parse the whole text
 *   file anyway (there is no seeking into a CSV by row), but only the worker's rows are converted
 *   to JavaScript, validated and encoded.
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
  if (infos.length >= workers) {
    // Rows are comparable only when every file is Parquet; otherwise bytes for all.
    const allParquet = infos.every((f) => f.parquet);
    const weight = infos.map((f) => (allParquet ? parquetRows(f) : f.bytes));
    const order = infos.map((_, i) => i).sort((a, b) => weight[b]! - weight[a]! || a - b);
    const load = new Array<number>(workers).fill(0);
    const owner = new Array<number>(infos.length).fill(0);
    for (const i of order) {
      let w = 0;
      for (let k = 1; k < workers; k++) if (load[k]! < load[w]!) w = k;
      owner[i] = w;
      load[w]! += weight[i]!;
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
    const cuts = parquetCuts(f.rowGroups ?? [], workers);
    for (let w = 0; w < workers; w++) if (cuts[w + 1]! > cuts[w]!) plan[w]!.push({ file: f.file, kind: 'range', start: cuts[w]!, end: cuts[w + 1]! });
  }
  return plan;
}

/**
 * N + 1 row numbers cutting a Parquet file into N contiguous ranges: at the row-group boundary
 * nearest to k·rows/N when there are at least N row groups (every range gets one group or
 * more), else at k·rows/N.
 */
export function parquetCuts(rowGroups: number[], workers: number): number[] {
  const total = rowGroups.reduce((a, b) => a + b, 0);
  const even = Array.from({ length: workers + 1 }, (_, k) => Math.floor((k * total) / workers));
  if (rowGroups.length < workers) return even;
  const bounds = [0];
  for (const n of rowGroups) bounds.push(bounds[bounds.length - 1]! + n);
  const cuts = [0];
  for (let k = 1; k < workers; k++) {
    // Boundary index j in [k, G - (N - k)] (leaves a group for every range), nearest to the target.
    const lo = Math.max(k, bounds.indexOf(cuts[k - 1]!) + 1);
    const hi = rowGroups.length - (workers - k);
    let best = lo;
    for (let j = lo; j <= hi; j++) if (Math.abs(bounds[j]! - even[k]!) < Math.abs(bounds[best]! - even[k]!)) best = j;
    cuts.push(bounds[best]!);
  }
  cuts.push(total);
  return cuts;
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
