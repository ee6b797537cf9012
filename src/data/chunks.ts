/**
 * Operations on RawChunks: an append-only builder (used by the readers), concatenation, slicing
 * and gathering rows (used by the trainer to split and shuffle).
 */
import type { RawChunk } from './batch.js';
import { checkRowIndices } from './row-indices.js';

/** Names of the columns a RawChunk carries, by role. */
export interface RawColumns {
  labels: string[];
  categorical: string[];
  multiValued: string[];
  numeric: string[];
  group?: string;
  truth: string[];
}

/** Fills one RawChunk of at most `capacity` rows, column by column. */
export class RawChunkBuilder {
  rows = 0;
  firstRow = 0;
  readonly labels: Uint8Array[];
  readonly categorical: string[][];
  readonly multiValued: string[][];
  readonly numeric: Float64Array[];
  readonly group: string[] | undefined;
  readonly truth: Float64Array[];

  constructor(
    readonly file: string,
    readonly columns: RawColumns,
    readonly capacity: number,
  ) {
    this.labels = columns.labels.map(() => new Uint8Array(capacity));
    this.categorical = columns.categorical.map(() => new Array<string>(capacity));
    this.multiValued = columns.multiValued.map(() => new Array<string>(capacity));
    this.numeric = columns.numeric.map(() => new Float64Array(capacity));
    this.group = columns.group !== undefined ? new Array<string>(capacity) : undefined;
    this.truth = columns.truth.map(() => new Float64Array(capacity));
  }

  get full(): boolean {
    return this.rows >= this.capacity;
  }

  /** The rows appended so far (arrays trimmed to `rows`). */
  build(): RawChunk {
    const n = this.rows;
    const trimText = (a: string[]) => (a.length === n ? a : a.slice(0, n));
    const chunk: RawChunk = {
      rows: n,
      firstRow: this.firstRow,
      file: this.file,
      labels: new Map(this.columns.labels.map((name, i) => [name, this.labels[i]!.subarray(0, n)])),
      categorical: new Map(this.columns.categorical.map((name, i) => [name, trimText(this.categorical[i]!)])),
      multiValued: new Map(this.columns.multiValued.map((name, i) => [name, trimText(this.multiValued[i]!)])),
      numeric: new Map(this.columns.numeric.map((name, i) => [name, this.numeric[i]!.subarray(0, n)])),
      truth: new Map(this.columns.truth.map((name, i) => [name, this.truth[i]!.subarray(0, n)])),
    };
    if (this.group !== undefined) chunk.group = trimText(this.group);
    return chunk;
  }
}

/** The column roles and names of a chunk. */
export function columnsOf(chunk: RawChunk): RawColumns {
  return {
    labels: [...chunk.labels.keys()],
    categorical: [...chunk.categorical.keys()],
    multiValued: [...chunk.multiValued.keys()],
    numeric: [...chunk.numeric.keys()],
    ...(chunk.group !== undefined ? { group: 'group' } : {}),
    truth: [...chunk.truth.keys()],
  };
}

/** A chunk with no rows and the given columns. */
export function emptyRawChunk(file: string, columns: RawColumns): RawChunk {
  return new RawChunkBuilder(file, columns, 0).build();
}

/**
 * All rows of `chunks` in order, as one chunk. The chunks must have the same columns.
 * firstRow is the first chunk's; with skipped rows, row numbers are not contiguous anyway.
 */
export function concatChunks(chunks: RawChunk[]): RawChunk {
  if (chunks.length === 0) throw new Error('concatChunks needs at least one chunk');
  if (chunks.length === 1) return chunks[0]!;
  const first = chunks[0]!;
  const rows = chunks.reduce((s, c) => s + c.rows, 0);
  const catTyped = <T extends Uint8Array | Float64Array>(make: (n: number) => T, pick: (c: RawChunk) => T): T => {
    const out = make(rows);
    let at = 0;
    for (const c of chunks) {
      out.set(pick(c), at);
      at += c.rows;
    }
    return out;
  };
  const catText = (pick: (c: RawChunk) => string[]): string[] => {
    const out = new Array<string>(rows);
    let at = 0;
    for (const c of chunks) {
      const src = pick(c);
      for (let i = 0; i < src.length; i++) out[at + i] = src[i]!;
      at += c.rows;
    }
    return out;
  };
  const need = <V>(m: Map<string, V>, name: string): V => {
    const v = m.get(name);
    if (v === undefined) throw new Error(`concatChunks: chunks differ in columns (no '${name}')`);
    return v;
  };
  const out: RawChunk = {
    rows,
    firstRow: first.firstRow,
    file: first.file,
    labels: mapKeys(first.labels, (name) => catTyped((n) => new Uint8Array(n), (c) => need(c.labels, name))),
    categorical: mapKeys(first.categorical, (name) => catText((c) => need(c.categorical, name))),
    multiValued: mapKeys(first.multiValued, (name) => catText((c) => need(c.multiValued, name))),
    numeric: mapKeys(first.numeric, (name) => catTyped((n) => new Float64Array(n), (c) => need(c.numeric, name))),
    truth: mapKeys(first.truth, (name) => catTyped((n) => new Float64Array(n), (c) => need(c.truth, name))),
  };
  if (first.group !== undefined) {
    out.group = catText((c) => {
      if (c.group === undefined) throw new Error('concatChunks: chunks differ in the group column');
      return c.group;
    });
  }
  return out;
}

/** Rows [start, end) of `chunk`. Typed columns are views (no copy); string columns are copies. */
export function sliceChunk(chunk: RawChunk, start: number, end: number): RawChunk {
  const s = Math.max(0, Math.min(start, chunk.rows));
  const e = Math.max(s, Math.min(end, chunk.rows));
  const out: RawChunk = {
    rows: e - s,
    firstRow: chunk.firstRow + s,
    file: chunk.file,
    labels: mapValues(chunk.labels, (a) => a.subarray(s, e)),
    categorical: mapValues(chunk.categorical, (a) => a.slice(s, e)),
    multiValued: mapValues(chunk.multiValued, (a) => a.slice(s, e)),
    numeric: mapValues(chunk.numeric, (a) => a.subarray(s, e)),
    truth: mapValues(chunk.truth, (a) => a.subarray(s, e)),
  };
  if (chunk.group !== undefined) out.group = chunk.group.slice(s, e);
  return out;
}

/** The rows at `indices` (in that order, repeats allowed), copied. */
export function takeRows(chunk: RawChunk, indices: ArrayLike<number>): RawChunk {
  const n = indices.length;
  checkRowIndices('takeRows', indices, chunk.rows);
  const gatherTyped = <T extends Uint8Array | Float64Array>(src: T, out: T): T => {
    for (let i = 0; i < n; i++) out[i] = src[indices[i]!]!;
    return out;
  };
  const gatherText = (src: string[]): string[] => {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = src[indices[i]!]!;
    return out;
  };
  const out: RawChunk = {
    rows: n,
    firstRow: chunk.firstRow,
    file: chunk.file,
    labels: mapValues(chunk.labels, (a) => gatherTyped(a, new Uint8Array(n))),
    categorical: mapValues(chunk.categorical, gatherText),
    multiValued: mapValues(chunk.multiValued, gatherText),
    numeric: mapValues(chunk.numeric, (a) => gatherTyped(a, new Float64Array(n))),
    truth: mapValues(chunk.truth, (a) => gatherTyped(a, new Float64Array(n))),
  };
  if (chunk.group !== undefined) out.group = gatherText(chunk.group);
  return out;
}

function mapValues<A, B>(m: Map<string, A>, f: (a: A) => B): Map<string, B> {
  return new Map([...m].map(([k, v]) => [k, f(v)]));
}

function mapKeys<A, B>(m: Map<string, A>, f: (name: string) => B): Map<string, B> {
  return new Map([...m.keys()].map((k) => [k, f(k)]));
}
