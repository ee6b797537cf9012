/**
 * Schema overrides on top of a starting schema (a preset's, or none), with column patterns and
 * exclusions resolved against a file's columns:
 *
 *   schema:
 *     labels: { click: click, buy: conversion }
 *     categorical: ['categorical_*']
 *     numeric: ['numerical_*']
 *     exclude: [event_type]
 *
 * A name with '*' or '?' is a pattern (shell-style, whole name). Patterns in a feature list skip
 * label and truth columns, excluded columns and columns named literally in another feature list.
 * A pattern or exclusion matching no column of the file is an error naming the config key.
 * Keys given replace the starting schema's, except labels and task_names, merged key by key.
 */
import type { Schema } from '../data/schema.js';
import { UserError } from '../errors.js';

type Obj = Record<string, unknown>;

export function isPattern(name: string): boolean {
  return name.includes('*') || name.includes('?');
}

/** Whether a schema block needs the file's columns (patterns or exclusions). */
export function needsColumns(spec: Obj): boolean {
  if (spec.exclude !== undefined) return true;
  const names = [...['categorical', 'numeric', 'truth'].flatMap((k) => (Array.isArray(spec[k]) ? (spec[k] as unknown[]) : [])), ...multiNames(spec.multi_valued)];
  return names.some((n) => typeof n === 'string' && isPattern(n));
}

function multiNames(v: unknown): unknown[] {
  return Array.isArray(v) ? v.map((m) => (m !== null && typeof m === 'object' ? (m as Obj).name : undefined)) : [];
}

function patternRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

/**
 * The schema block with `base` under it and patterns expanded against `columns` (file order).
 * `where` names the file for messages. The result is still a plain object: the config parser
 * checks it like a hand-written schema.
 */
export function applySchemaSpec(spec: Obj, base: Schema | undefined, columns: readonly string[], where: { source: string; file: string }): Obj {
  const fail = (key: string, message: string): never => {
    throw new UserError(message, { file: where.source, key });
  };
  const out: Obj = base === undefined ? {} : (structuredClone(base) as unknown as Obj);
  for (const [k, v] of Object.entries(spec)) {
    if (k === 'preset' || k === 'exclude') continue;
    if ((k === 'labels' || k === 'task_names') && v !== null && typeof v === 'object' && !Array.isArray(v) && out[k] !== undefined) {
      out[k] = { ...(out[k] as Obj), ...(v as Obj) };
    } else {
      out[k] = v; // categorical, multi_valued, numeric, group, truth: replaced; unknown keys are refused later
    }
  }
  if (spec.exclude === undefined && !needsColumns(out)) return out;

  const matching = (pattern: string, key: string, pool: readonly string[]): string[] => {
    const re = patternRegExp(pattern);
    const inFile = columns.filter((c) => re.test(c));
    if (inFile.length === 0) fail(key, `'${pattern}' matches no column of ${where.file} (columns: ${preview(columns)})`);
    return inFile.filter((c) => pool.includes(c));
  };
  const stringList = (v: unknown, key: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) fail(key, 'expected a list of column names or patterns');
    return v as string[];
  };

  // Exclusions: names or patterns, each must match a column.
  const excluded = new Set<string>();
  for (const e of stringList(spec.exclude, 'schema.exclude')) {
    const hits = isPattern(e) ? matching(e, 'schema.exclude', columns) : columns.includes(e) ? [e] : [];
    if (hits.length === 0) fail('schema.exclude', `'${e}' is not a column of ${where.file} (columns: ${preview(columns)})`);
    for (const h of hits) excluded.add(h);
  }

  const labels = out.labels !== null && typeof out.labels === 'object' ? Object.values(out.labels as Obj).flat().filter((x): x is string => typeof x === 'string') : [];
  const literal = (list: unknown): string[] => (Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string' && !isPattern(x)) : []);
  const truth = expand(stringList(out.truth, 'schema.truth'), 'schema.truth', columns.filter((c) => !labels.includes(c)));
  const taken = (others: string[]): string[] => columns.filter((c) => !labels.includes(c) && !truth.includes(c) && !excluded.has(c) && !others.includes(c));

  function expand(list: string[], key: string, pool: readonly string[]): string[] {
    const result: string[] = [];
    for (const name of list) {
      for (const c of isPattern(name) ? matching(name, key, pool) : [name]) if (!result.includes(c)) result.push(c);
    }
    return result;
  }

  const multiRaw = out.multi_valued;
  const multiLiteral = literal(multiNames(multiRaw));
  const categorical = expand(stringList(out.categorical, 'schema.categorical'), 'schema.categorical', taken([...literal(out.numeric), ...multiLiteral]));
  const numeric = expand(stringList(out.numeric, 'schema.numeric'), 'schema.numeric', taken([...literal(out.categorical), ...multiLiteral]));
  if (out.truth !== undefined) out.truth = truth;
  out.categorical = categorical.filter((c) => !excluded.has(c));
  if (out.numeric !== undefined) out.numeric = numeric.filter((c) => !excluded.has(c));
  if (Array.isArray(multiRaw)) {
    const pool = taken([...literal(out.categorical), ...literal(out.numeric)]);
    out.multi_valued = multiRaw
      .flatMap((m: unknown, i: number) => {
        if (m === null || typeof m !== 'object' || typeof (m as Obj).name !== 'string') return [m];
        const item = m as Obj;
        const name = item.name as string;
        return isPattern(name) ? matching(name, `schema.multi_valued[${i}].name`, pool).map((c) => ({ ...item, name: c })) : [item];
      })
      .filter((m: unknown) => !(m !== null && typeof m === 'object' && excluded.has(String((m as Obj).name))));
  }
  return out;
}

function preview(columns: readonly string[]): string {
  return columns.length <= 12 ? columns.join(', ') : `${columns.slice(0, 12).join(', ')}, ... (${columns.length} in all)`;
}
