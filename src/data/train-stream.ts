/**
 * The training rows of one or more files, read in bounded memory for the streaming trainer.
 *
 * Files are cut into blocks of `blockRows` rows. Each epoch draws (from the trainer's seeded
 * shuffle RNG) an order of the blocks: Parquet blocks in a random order across all files (each
 * block is one DuckDB range read by file_row_number), CSV/TSV/JSONL files in a random order with
 * their blocks in file order (text files can only be read front to back). Consecutive blocks are
 * gathered into windows of at most `windowRows` rows; a window is encoded, shuffled row by row
 * with its own seed and cut into batches. So at most one window (plus the block being read) is
 * held, and the same seed gives the same order. With train.shuffle false the blocks come in file
 * order and the windows' rows are not shuffled: the epoch reads the rows as stored.
 *
 * Parquet blocks are read on one DuckDB connection kept for the whole run (each file described
 * once, no count query per block: the row range is known), and the next block's query is started
 * before the current block is converted and trained on, so DuckDB scans it in its own threads
 * meanwhile (one block ahead: its result is held by DuckDB, not in the JavaScript heap).
 */
import type { EncodedChunk, RawChunk } from './batch.js';
import { detectFormat } from './format.js';
import { connectDuckDB } from './duckdb.js';
import { RangeReader, readChunks, prepare, type PendingRange, type ReadOptions } from './reader.js';
import { concatEncoded } from '../features/encoded-rows.js';
import { concatChunks, sliceChunk } from './chunks.js';
import type { FeatureSpec } from '../features/spec.js';
import { UserError } from '../errors.js';
import type { Rng } from '../util/random.js';
import type { StepTimings } from '../train/step-timings.js';

export interface StreamBlock {
  file: number;
  /** 0-based row range in the file (before skipping invalid rows). */
  start: number;
  end: number;
}

export interface StreamWindow {
  blocks: StreamBlock[];
  /** File rows in the window (kept rows can be fewer with data.skip_invalid). */
  rows: number;
  /** Seed of the window's row shuffle. */
  seed: number;
}

/** Where a streamed epoch spent its time (seconds) and the most rows it held at once. */
export interface StreamTimings {
  read: number;
  encode: number;
  train: number;
  /** Largest window (encoded rows) held at once. */
  maxWindowRows: number;
  /** Largest block (raw rows) held at once. */
  maxBlockRows: number;
  /** Rows delivered to the trainer, for tests: every row once per epoch. */
  rowsDelivered: number;
  /**
   * The training step's own split of `train` (ms, the whole run so far): embedding gather, ORT,
   * dense and sparse update; the rest of `train` is batch assembly. Set when training ends.
   */
  step?: StepTimings;
}

export function newTimings(): StreamTimings {
  return { read: 0, encode: 0, train: 0, maxWindowRows: 0, maxBlockRows: 0, rowsDelivered: 0 };
}

export class TrainStream {
  private open: { file: number; next: number; iter: AsyncIterator<RawChunk> } | undefined;
  private ranges: RangeReader | undefined;
  /** Expected share of the rows kept (a hold-out drops the rest); sizes the progress estimate only. */
  keptShare = 1;
  /** The Parquet block whose query runs ahead (at most one). */
  private ahead: { block: StreamBlock; pending: Promise<PendingRange> } | undefined;

  private constructor(
    readonly files: string[],
    /** File rows of each file. */
    readonly fileRows: number[],
    readonly blocks: StreamBlock[],
    readonly windowRows: number,
    private readonly readOpts: ReadOptions,
    private readonly spec: FeatureSpec,
    private readonly parquet: boolean,
  ) {}

  /** Count each file's rows (Parquet: from its metadata) and cut them into blocks. */
  static async open(files: string[], readOpts: ReadOptions, spec: FeatureSpec, blockRows: number, windowRows: number): Promise<TrainStream> {
    const con = await connectDuckDB();
    const fileRows: number[] = [];
    try {
      for (const file of files) {
        const { plan } = await prepare(con, file, readOpts);
        fileRows.push(Number((await (await con.run(plan.countSql)).getRows())[0]![0]));
      }
    } finally {
      con.closeSync();
    }
    const parquet = files.every((f) => detectFormat(f, readOpts.format) === 'parquet');
    const blocks: StreamBlock[] = [];
    fileRows.forEach((n, file) => {
      for (let start = 0; start < n; start += blockRows) blocks.push({ file, start, end: Math.min(n, start + blockRows) });
    });
    if (blocks.length === 0) throw new UserError('no data rows', { file: files[0]!, key: 'data.train' });
    return new TrainStream(files, fileRows, blocks, windowRows, { ...readOpts, chunkRows: blockRows }, spec, parquet);
  }

  get totalRows(): number {
    return this.fileRows.reduce((a, b) => a + b, 0);
  }

  /** The epoch's windows, drawn from `rng` (the trainer's shuffle RNG, positioned at the epoch's state). */
  planEpoch(rng: Rng, shuffle = true): StreamWindow[] {
    let order: StreamBlock[];
    // train.shuffle false: every block in file order (files in path order); the trainer does not
    // shuffle the windows' rows either, so the epoch reads the rows as stored.
    if (!shuffle) order = this.blocks;
    else if (this.parquet) {
      const idx = Int32Array.from(this.blocks.keys());
      rng.shuffle(idx);
      order = [...idx].map((i) => this.blocks[i]!);
    } else {
      const fileOrder = Int32Array.from(this.files.keys());
      rng.shuffle(fileOrder);
      order = [...fileOrder].flatMap((f) => this.blocks.filter((b) => b.file === f));
    }
    const windows: StreamWindow[] = [];
    let cur: StreamBlock[] = [];
    let rows = 0;
    const close = (): void => {
      windows.push({ blocks: cur, rows, seed: Math.floor(rng.next() * 4294967296) });
      cur = [];
      rows = 0;
    };
    for (const b of order) {
      const n = b.end - b.start;
      if (cur.length > 0 && rows + n > this.windowRows) close();
      cur.push(b);
      rows += n;
    }
    if (cur.length > 0) close();
    return windows;
  }

  /** The kept rows of a window, encoded and concatenated (in block order; the trainer shuffles them). */
  async readWindow(w: StreamWindow, t: StreamTimings, next?: StreamWindow): Promise<EncodedChunk | undefined> {
    const parts: EncodedChunk[] = [];
    for (const [k, b] of w.blocks.entries()) {
      let t0 = performance.now();
      // The block after this one (or the next window's first) is read by DuckDB while this one is encoded and trained on.
      const raw = await this.readBlock(b, k + 1 < w.blocks.length ? w.blocks[k + 1] : next?.blocks[0]);
      let t1 = performance.now();
      t.read += (t1 - t0) / 1000;
      if (raw === undefined || raw.rows === 0) continue;
      t.maxBlockRows = Math.max(t.maxBlockRows, raw.rows);
      t0 = performance.now();
      parts.push(this.spec.transform(raw));
      t1 = performance.now();
      t.encode += (t1 - t0) / 1000;
    }
    if (parts.length === 0) return undefined;
    const t0 = performance.now();
    const chunk = concatEncoded(parts);
    t.encode += (performance.now() - t0) / 1000;
    t.maxWindowRows = Math.max(t.maxWindowRows, chunk.rows);
    return chunk;
  }

  /** Kept rows of a window without encoding them (to skip windows on resume with data.skip_invalid). */
  async countWindow(w: StreamWindow): Promise<number> {
    let n = 0;
    for (const b of w.blocks) n += (await this.readBlock(b))?.rows ?? 0;
    return n;
  }

  /** The first `n` kept rows (fewer when the data has fewer), encoded: the trainer sizes its buffers with them. */
  async sample(n: number): Promise<{ raw: RawChunk; encoded: EncodedChunk }> {
    const parts: RawChunk[] = [];
    let have = 0;
    for (const b of this.blocks) {
      if (have >= n) break;
      const raw = await this.readBlock(this.parquet ? { ...b, end: Math.min(b.end, b.start + n - have) } : b);
      if (raw === undefined || raw.rows === 0) continue;
      parts.push(raw.rows > n - have ? sliceChunk(raw, 0, n - have) : raw);
      have += parts[parts.length - 1]!.rows;
    }
    await this.close();
    if (parts.length === 0) throw new UserError('no training rows left after skipping invalid rows', { file: this.files[0]!, key: 'data.train' });
    const raw = concatChunks(parts);
    return { raw, encoded: this.spec.transform(raw) };
  }

  /** Whether rows are dropped by a hold-out (then a window's kept rows are known only by reading it). */
  get filtersRows(): boolean {
    return this.readOpts.split !== undefined;
  }

  private async readBlock(b: StreamBlock, then?: StreamBlock): Promise<RawChunk | undefined> {
    const file = this.files[b.file]!;
    if (this.parquet) {
      const ranges = (this.ranges ??= await RangeReader.open());
      let pending: PendingRange;
      if (this.ahead !== undefined && this.ahead.block === b) pending = await this.ahead.pending;
      else {
        await this.dropAhead();
        pending = await this.startBlock(ranges, b);
      }
      this.ahead = undefined;
      // Once DuckDB has materialised this block, the connection is free for the next one.
      await pending.result.catch(() => undefined); // a failure is raised by finish
      if (then !== undefined) {
        const started = this.startBlock(ranges, then);
        started.catch(() => undefined); // raised when the block is read; never an unhandled rejection meanwhile
        this.ahead = { block: then, pending: started };
      }
      return ranges.finish(pending);
    }
    // Text files: one reader per file, read front to back; a block before the reader's position reopens it.
    const blockIndex = Math.floor(b.start / this.readOpts.chunkRows!);
    if (this.open === undefined || this.open.file !== b.file || this.open.next > blockIndex) {
      await this.open?.iter.return?.();
      this.open = { file: b.file, next: 0, iter: readChunks(file, this.readOpts)[Symbol.asyncIterator]() };
    }
    let chunk: RawChunk | undefined;
    while (this.open.next <= blockIndex) {
      const r = await this.open.iter.next();
      this.open.next++;
      chunk = r.done === true ? undefined : r.value;
      if (r.done === true) break;
    }
    return chunk;
  }

  private startBlock(ranges: RangeReader, b: StreamBlock): Promise<PendingRange> {
    return ranges.start(this.files[b.file]!, { ...this.readOpts, chunkRows: Math.max(1, b.end - b.start), rowRange: { start: b.start, end: b.end } });
  }

  /** Wait for (and forget) a read started ahead, so the connection runs one query at a time. */
  private async dropAhead(): Promise<void> {
    const a = this.ahead;
    this.ahead = undefined;
    if (a !== undefined) await (await a.pending.catch(() => undefined))?.result.catch(() => undefined);
  }

  /** Close an open text-file reader and the Parquet connection. */
  async close(): Promise<void> {
    await this.open?.iter.return?.();
    this.open = undefined;
    await this.dropAhead();
    this.ranges?.close();
    this.ranges = undefined;
  }
}
