/**
 * A validation slice held out of the training rows when no validation file is given, so early
 * stopping has something to stop on (issue 13): the latest rows by a time column when one is
 * configured (data.holdout.time_column, read as a numeric or truth column), else a seeded random
 * slice. Rows keep their order within each part.
 */
import type { RawChunk } from './batch.js';
import { UserError } from '../errors.js';
import { Rng } from '../util/random.js';

export interface HoldoutConfig {
  /** Fraction of the training rows held out (0 turns the holdout off). */
  fraction: number;
  /** Hold out the latest rows by this column instead of a random slice. */
  time_column?: string;
  /** Seed of the random slice. */
  seed: number;
}

export const DEFAULT_HOLDOUT: HoldoutConfig = { fraction: 0.1, seed: 1 };

/** Split `chunk` into (train, holdout); undefined when the holdout would be empty or the whole set. */
export function holdOut(chunk: RawChunk, cfg: HoldoutConfig): { train: RawChunk; valid: RawChunk } | undefined {
  const n = chunk.rows;
  const k = Math.round(n * cfg.fraction);
  if (k < 1 || k >= n) return undefined;
  const held = new Uint8Array(n);
  if (cfg.time_column !== undefined) {
    const t = chunk.numeric.get(cfg.time_column) ?? chunk.truth.get(cfg.time_column);
    if (t === undefined) throw new UserError(`time column '${cfg.time_column}' is not read; list it in schema.numeric or schema.truth`, { key: 'data.holdout.time_column' });
    // The k latest rows (ties broken by file order, later rows first); missing times count as oldest.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => key(t[b]!) - key(t[a]!) || b - a);
    for (let j = 0; j < k; j++) held[order[j]!] = 1;
  } else {
    // A seeded partial Fisher-Yates shuffle picks exactly k rows.
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    const rng = new Rng(cfg.seed);
    for (let j = 0; j < k; j++) {
      const r = j + rng.int(n - j);
      const tmp = idx[j]!;
      idx[j] = idx[r]!;
      idx[r] = tmp;
      held[idx[j]!] = 1;
    }
  }
  return { train: subset(chunk, held, 0), valid: subset(chunk, held, 1) };
}

function key(x: number): number {
  return Number.isNaN(x) ? -Infinity : x;
}

function subset(c: RawChunk, mark: Uint8Array, want: 0 | 1): RawChunk {
  const rows: number[] = [];
  for (let i = 0; i < c.rows; i++) if (mark[i] === want) rows.push(i);
  const pickTyped = <T extends Uint8Array | Float64Array>(a: T): T => {
    const out = new (a.constructor as new (n: number) => T)(rows.length);
    rows.forEach((r, j) => (out[j] = a[r]!));
    return out;
  };
  const pickStr = (a: string[]): string[] => rows.map((r) => a[r]!);
  const mapOf = <V>(m: Map<string, V>, f: (v: V) => V): Map<string, V> => new Map([...m].map(([k, v]) => [k, f(v)]));
  return {
    rows: rows.length,
    firstRow: c.firstRow,
    file: c.file,
    labels: mapOf(c.labels, pickTyped),
    categorical: mapOf(c.categorical, pickStr),
    multiValued: mapOf(c.multiValued, pickStr),
    numeric: mapOf(c.numeric, pickTyped),
    ...(c.group !== undefined ? { group: pickStr(c.group) } : {}),
    truth: mapOf(c.truth, pickTyped),
  };
}
