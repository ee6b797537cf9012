/**
 * The hold-out of streaming training when no validation file is given (the streaming twin of
 * holdout.ts): which rows of the training files are validated on and never trained on, decided
 * row by row so that no pass has to hold the data.
 *
 * - hash rule (default): a row is held out when a seeded hash of its stable key (the file's base
 *   name and the row's 0-based number in that file) falls below data.holdout.fraction. The same
 *   files and seed give the same split in every run, every epoch and after --resume; the share is
 *   the fraction up to sampling noise.
 * - time rule (data.holdout.time_column): the latest rows, held out when their time is at or after
 *   the (1 - fraction) quantile of the column over all training rows (found with DuckDB). Ties at
 *   the cut are all held out, so the share can exceed the fraction; missing times count as oldest.
 *
 * Validation holds its rows in memory, so only a capped number is kept (a uniform subsample of
 * the held-out rows for the hash rule, the very latest for the time rule); the rest of the
 * held-out rows are neither trained nor validated on.
 */
import { basename } from 'node:path';
import { UserError } from '../errors.js';
import { fnv1a32 } from '../features/hash.js';
import { connectDuckDB } from './duckdb.js';
import type { HoldoutConfig } from './holdout.js';
import { prepare, type ReadOptions } from './reader.js';

export type StreamHoldout =
  /** Held out when the row's draw < fraction; validated on when it is < validFraction (<= fraction). */
  | { kind: 'hash'; seed: number; fraction: number; validFraction: number }
  /** Held out when time >= threshold; validated on when time >= validThreshold (>= threshold). */
  | { kind: 'time'; column: string; threshold: number; validThreshold: number };

/** ReadOptions.split: read only the training side, or only the validated part of the held-out side. */
export interface RowSplit {
  rule: StreamHoldout;
  side: 'train' | 'holdout';
}

/** A file's part of the row key: its base name, so moving the data keeps the split. */
export function holdoutFileKey(file: string): number {
  return fnv1a32(basename(file));
}

function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform draw in [0, 1) for row `row` (0-based) of the file with key `fileKey`. */
export function rowDraw(fileKey: number, row: number, seed: number): number {
  let h = fmix32(fileKey ^ fmix32((seed ^ 0x9e3779b9) >>> 0));
  h = fmix32(h ^ (row >>> 0));
  h = fmix32(h ^ Math.floor(row / 4294967296));
  return h / 4294967296;
}

/** Whether a row is held out (never trained on). `time` is the time column's value (NaN when missing). */
export function inHoldout(rule: StreamHoldout, fileKey: number, row: number, time: number): boolean {
  return rule.kind === 'hash' ? rowDraw(fileKey, row, rule.seed) < rule.fraction : time >= rule.threshold;
}

/** Whether a held-out row is kept for validation (within the cap). */
export function inValidation(rule: StreamHoldout, fileKey: number, row: number, time: number): boolean {
  return rule.kind === 'hash' ? rowDraw(fileKey, row, rule.seed) < rule.validFraction : time >= rule.validThreshold;
}

export interface HoldoutPlan {
  rule: StreamHoldout;
  /** Rows held out of training (exact for the time rule, expected for the hash rule). */
  heldRows: number;
  /** Of those, rows kept in memory to validate on (same). */
  validRows: number;
  /** For logs and the data fingerprint. */
  description: string;
}

/**
 * The hold-out of `rows` kept training rows in `files`, with at most `maxValidRows` validated
 * on; undefined when the fraction is 0 or the rule would hold out no row or every row.
 */
export async function planStreamHoldout(files: string[], opts: ReadOptions, cfg: HoldoutConfig, rows: number, maxValidRows: number): Promise<HoldoutPlan | undefined> {
  if (cfg.fraction <= 0 || rows < 2) return undefined;
  const cap = Math.max(1, Math.floor(maxValidRows));
  if (cfg.time_column === undefined) {
    const held = cfg.fraction * rows;
    if (held < 1) return undefined;
    const validFraction = held > cap ? cfg.fraction * (cap / held) : cfg.fraction;
    return {
      rule: { kind: 'hash', seed: cfg.seed, fraction: cfg.fraction, validFraction },
      heldRows: Math.round(held),
      validRows: Math.round(validFraction * rows),
      description: `random by row, seed ${cfg.seed}`,
    };
  }
  const column = cfg.time_column;
  const con = await connectDuckDB();
  try {
    const parts: string[] = [];
    for (const file of files) {
      const { plan } = await prepare(con, file, opts);
      const before = plan.labels.length + plan.categorical.length + plan.multiValued.length;
      const ni = plan.numeric.indexOf(column);
      const ti = plan.truth.indexOf(column);
      if (ni < 0 && ti < 0) throw new UserError(`time column '${column}' is not read; list it in schema.numeric or schema.truth`, { file, key: 'data.holdout.time_column' });
      const at = ni >= 0 ? before + ni : before + plan.numeric.length + ti;
      const width = before + plan.numeric.length + plan.truth.length + (plan.group !== undefined ? 1 : 0) + 1;
      const names = Array.from({ length: width }, (_, i) => (i === at ? 'x' : i === width - 1 ? 'problem' : `_${i}`));
      parts.push(`SELECT x FROM (${plan.sql}) AS t(${names.join(', ')}) WHERE problem = '' AND isfinite(x)`);
    }
    const times = parts.join(' UNION ALL ');
    const one = async (sql: string): Promise<number | null> => {
      const v = (await (await con.run(sql)).getRows())[0]![0];
      return v === null ? null : Number(v);
    };
    const threshold = await one(`SELECT quantile_disc(x, ${1 - cfg.fraction}) FROM (${times})`);
    if (threshold === null) return undefined;
    const held = (await one(`SELECT count(*)::DOUBLE FROM (${times}) WHERE x >= ${threshold}`))!;
    if (held < 1 || held >= rows) return undefined;
    let validThreshold = threshold;
    let valid = held;
    if (held > cap) {
      const finite = (await one(`SELECT count(*)::DOUBLE FROM (${times})`))!;
      validThreshold = (await one(`SELECT quantile_disc(x, ${1 - cap / finite}) FROM (${times})`)) ?? threshold;
      // Ties at the validation cut can overshoot the cap; a cut just above it then keeps fewer.
      valid = (await one(`SELECT count(*)::DOUBLE FROM (${times}) WHERE x >= ${validThreshold}`))!;
      if (valid > cap) {
        const above = await one(`SELECT min(x) FROM (${times}) WHERE x > ${validThreshold}`);
        validThreshold = above ?? Infinity;
        valid = above === null ? 0 : (await one(`SELECT count(*)::DOUBLE FROM (${times}) WHERE x >= ${above}`))!;
      }
    }
    return {
      rule: { kind: 'time', column, threshold, validThreshold },
      heldRows: held,
      validRows: valid,
      description: `latest by ${column} (${column} >= ${threshold})`,
    };
  } finally {
    con.closeSync();
  }
}
