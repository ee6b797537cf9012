/**
 * The leakage guard: before training, every feature is checked against every label on (a sample
 * of) the training rows. A feature that is a label in disguise (identical to it, or alone
 * separating it almost perfectly) stops training with one line naming the column and the label,
 * unless the schema lists it in `allow_leaky`.
 *
 * The natural first try on a raw event log does exactly this: an `event_type` column, a purchase
 * count or a last-event time copied next to the labels gives test AUC 1.0 and a useless model.
 * The config check already refuses a label column listed as a feature; this catches the columns
 * that are derived from the label under another name.
 *
 * Single-feature AUC, in either direction (max(AUC, 1 - AUC)):
 * - numeric: the raw value (missing values tie at the bottom);
 * - categorical and multi-valued (the whole cell as one value): the value's label rate, estimated
 *   out of fold (rates from the other half of the sample, unseen values get the overall rate).
 *   In-sample rates would let any id seen once "predict" its own label perfectly; out of fold, only
 *   values whose rate carries over to other rows (a real disguise such as event_type) separate.
 * A label is judged only when the sample has at least MIN_CLASS_ROWS rows of each class, so a tiny
 * file cannot fire by chance.
 */
import type { RawChunk } from '../data/batch.js';
import { labelColumns, type Schema } from '../data/schema.js';
import { UserError } from '../errors.js';
import { auc } from '../metrics/auc.js';

export const LEAKAGE_AUC = 0.99;
export const LEAKAGE_SAMPLE_ROWS = 100_000;
export const MIN_CLASS_ROWS = 10;

export interface LeakageFinding {
  column: string;
  label: string;
  /** 'identical': the feature equals the label on every sampled row. */
  kind: 'identical' | 'separates';
  /** Single-feature AUC, in its better direction. */
  auc: number;
  rows: number;
}

export interface LeakageOptions {
  /** Rows looked at (an even stride over the chunk); default LEAKAGE_SAMPLE_ROWS. */
  sampleRows?: number;
  threshold?: number;
}

/** Every (feature, label) pair that looks like leakage, allowed ones included. */
export function findLeakage(schema: Schema, data: RawChunk, opts: LeakageOptions = {}): LeakageFinding[] {
  const threshold = opts.threshold ?? LEAKAGE_AUC;
  const rows = sampleRows(data.rows, opts.sampleRows ?? LEAKAGE_SAMPLE_ROWS);
  const findings: LeakageFinding[] = [];
  const labels = labelColumns(schema)
    .map((name) => ({ name, values: data.labels.get(name) }))
    .filter((l): l is { name: string; values: Uint8Array } => l.values !== undefined)
    .map((l) => ({ name: l.name, y: Uint8Array.from(rows, (r) => l.values[r]!) }))
    .filter((l) => enoughOfEachClass(l.y));
  if (labels.length === 0) return findings;

  const check = (column: string, score: (y: Uint8Array) => Float64Array, identical: (y: Uint8Array) => boolean): void => {
    for (const label of labels) {
      const s = score(label.y);
      const a = auc(label.y, s);
      const best = Math.max(a, 1 - a);
      if (identical(label.y)) findings.push({ column, label: label.name, kind: 'identical', auc: best, rows: rows.length });
      else if (best >= threshold) findings.push({ column, label: label.name, kind: 'separates', auc: best, rows: rows.length });
    }
  };
  for (const [column, values] of [...data.categorical, ...data.multiValued]) {
    const cells = rows.map((r) => values[r]!);
    check(
      column,
      (y) => outOfFoldRates(cells, y),
      (y) => cells.every((c, k) => c.trim() === String(y[k])),
    );
  }
  for (const [column, values] of data.numeric) {
    const x = Float64Array.from(rows, (r) => (Number.isNaN(values[r]!) ? Number.NEGATIVE_INFINITY : values[r]!));
    check(
      column,
      () => x,
      (y) => x.every((v, k) => v === y[k]),
    );
  }
  return findings;
}

/** Refuses to train on a leaky feature not listed in schema.allow_leaky (one line, no stack). */
export function guardLeakage(schema: Schema, data: RawChunk, opts: LeakageOptions & { log?: (line: string) => void } = {}): LeakageFinding[] {
  const allowed = new Set(schema.allow_leaky ?? []);
  const findings = findLeakage(schema, data, opts);
  for (const f of findings) {
    if (allowed.has(f.column)) {
      opts.log?.(`leakage guard: '${f.column}' ${describe(f)} (allowed by schema.allow_leaky)`);
      continue;
    }
    throw new UserError(
      `feature '${f.column}' ${describe(f)}: a label in disguise (leakage); remove it from the schema, or list it in schema.allow_leaky if it is truly known before the outcome`,
      { file: data.file, column: f.column },
    );
  }
  return findings;
}

function describe(f: LeakageFinding): string {
  if (f.kind === 'identical') return `is identical to label '${f.label}' on all ${f.rows} sampled training rows`;
  return `alone separates label '${f.label}' (single-feature AUC ${f.auc.toFixed(4)} on ${f.rows} sampled training rows)`;
}

function sampleRows(total: number, max: number): number[] {
  const n = Math.min(total, Math.max(1, max));
  const step = total / n;
  return Array.from({ length: n }, (_, k) => Math.floor(k * step));
}

function enoughOfEachClass(y: Uint8Array): boolean {
  let pos = 0;
  for (const v of y) pos += v;
  return pos >= MIN_CLASS_ROWS && y.length - pos >= MIN_CLASS_ROWS;
}

/** Each row scored with its value's label rate in the other fold (rows alternate folds). */
function outOfFoldRates(cells: readonly string[], y: Uint8Array): Float64Array {
  const stats = [new Map<string, [number, number]>(), new Map<string, [number, number]>()];
  const totals = [
    [0, 0],
    [0, 0],
  ];
  cells.forEach((c, k) => {
    const fold = k % 2;
    const s = stats[fold]!.get(c) ?? [0, 0];
    s[0] += y[k]!;
    s[1] += 1;
    stats[fold]!.set(c, s);
    totals[fold]![0]! += y[k]!;
    totals[fold]![1]! += 1;
  });
  return Float64Array.from(cells, (c, k) => {
    const other = 1 - (k % 2);
    const s = stats[other]!.get(c);
    if (s !== undefined) return s[0] / s[1];
    const [pos, n] = totals[other]!;
    return n! > 0 ? pos! / n! : 0;
  });
}
