/**
 * The DuckDB SQL of `esmm convert events`, built from an EventsSpec. Every statement streams over
 * the log or over the per-unit table; nothing here holds events in JavaScript.
 *
 * ev (view): one row per event, with trimmed text, NULL for empty cells, and the time as epoch
 *   seconds (numeric columns in --time-unit, or text timestamps such as '2019-10-01 00:00:00 UTC').
 * units (table): one row per unit (user x item, or session x item) with, per stage, whether the
 *   unit reached it, the time of its first entry event, and each attribute at that event.
 */
import { sqlIdent, sqlString } from '../sql-text.js';
import type { EventsSpec, ModelFunnel } from './events-spec.js';

export type Unit = 'user-item' | 'session-item';
export type OutOfOrderPolicy = 'keep' | 'imply' | 'drop';

/** A way a unit breaks the funnel, as a SQL condition over the units table. */
export interface FunnelBreak {
  name: string;
  sql: string;
}

export function sourceSql(file: string, spec: EventsSpec): string {
  const args = [sqlString(file), `header = ${spec.header}`, 'all_varchar = true'];
  if (spec.names !== undefined) args.push(`names = [${spec.names.map(sqlString).join(', ')}]`);
  if (spec.delimiter !== undefined) args.push(`delim = ${sqlString(spec.delimiter)}`);
  return `read_csv(${args.join(', ')})`;
}

const text = (column: string): string => `nullif(trim(${sqlIdent(column)}), '')`;
const inList = (events: readonly string[]): string => (events.length === 0 ? 'false' : `e IN (${events.map(sqlString).join(', ')})`);

function timeSql(column: string, unit: 's' | 'ms'): string {
  const raw = text(column);
  const numeric = `TRY_CAST(${raw} AS DOUBLE)${unit === 'ms' ? ' / 1000.0' : ''}`;
  // Text timestamps: DuckDB's TIMESTAMP cast without the trailing zone name (UTC, Z).
  const stamp = `epoch_ms(TRY_CAST(regexp_replace(${raw}, '\\s*(UTC|Z)$', '') AS TIMESTAMP)) / 1000.0`;
  return `coalesce(${numeric}, ${stamp})`;
}

/** The events view (one row per input line). */
export function eventsViewSql(file: string, spec: EventsSpec): string {
  const c = spec.columns;
  const cols = [
    `${text(c.user)} AS u`,
    `${text(c.item)} AS i`,
    `${text(c.event)} AS e`,
    `${timeSql(c.time, spec.timeUnit)} AS t`,
    c.session !== undefined ? `${text(c.session)} AS s` : 'NULL AS s',
    ...c.categorical.map((name, j) => `${text(name)} AS a${j}`),
    ...c.numeric.map((name, j) => `TRY_CAST(${text(name)} AS DOUBLE) AS n${j}`),
  ];
  return `CREATE VIEW ev AS SELECT ${cols.join(', ')} FROM ${sourceSql(file, spec)}`;
}

/** SQL truth value of a usable event; `needSession`: the unit needs a session id. */
export function validEventSql(needSession: boolean): string {
  return `(u IS NOT NULL AND i IS NOT NULL AND e IS NOT NULL AND t IS NOT NULL${needSession ? ' AND s IS NOT NULL' : ''})`;
}

/** Per event name: usable and unusable events (one scan). */
export function eventCountsSql(needSession: boolean): string {
  const valid = validEventSql(needSession);
  return (
    `SELECT e, count(*) FILTER (WHERE ${valid}) AS good, count(*) FILTER (WHERE NOT ${valid}) AS bad ` +
    `FROM ev GROUP BY e ORDER BY good DESC LIMIT 1000`
  );
}

/** The first unusable event in file order (run with one thread), for the error message. */
export function firstBadEventSql(needSession: boolean): string {
  return (
    `SELECT row, u IS NULL AS no_user, i IS NULL AS no_item, e IS NULL AS no_event, t IS NULL AS no_time, s IS NULL AS no_session ` +
    `FROM (SELECT row_number() OVER () AS row, * FROM ev) WHERE NOT ${validEventSql(needSession)} ORDER BY row LIMIT 1`
  );
}

const keyColumns = (unit: Unit): string[] => (unit === 'user-item' ? ['u', 'i'] : ['s', 'i']);

/** Groups the usable, mapped events into one row per unit. */
export function unitsTableSql(spec: EventsSpec, funnel: ModelFunnel, unit: Unit): string {
  const entry = inList(funnel.entryEvents);
  const attrs = [...spec.columns.categorical.map((_, j) => `a${j}`), ...spec.columns.numeric.map((_, j) => `n${j}`)];
  const cols = [
    ...keyColumns(unit),
    ...(unit === 'session-item' ? ['arg_min(u, t) AS u'] : []),
    `min(t) FILTER (WHERE ${entry}) AS t_entry`,
    'min(t) AS t_any',
    `bool_or(${inList(funnel.click.events)}) AS l_click`,
    ...funnel.actions.map((a, k) => `bool_or(${inList(a.events)}) AS l_a${k}`),
    `bool_or(${inList(funnel.buy.events)}) AS l_buy`,
    // The value at the first entry event; a unit without one (out of order) takes its first event's.
    ...attrs.map((a) => `coalesce(arg_min(${a}, t) FILTER (WHERE ${entry}), arg_min(${a}, t)) AS ${a}`),
  ];
  return (
    `CREATE TABLE units AS SELECT ${cols.join(', ')} FROM ev ` +
    `WHERE ${validEventSql(unit === 'session-item')} AND ${inList(funnel.mapped)} ` +
    `GROUP BY ${keyColumns(unit).join(', ')}`
  );
}

/** The ways a unit can break the funnel, named for the summary. */
export function funnelBreaks(funnel: ModelFunnel): FunnelBreak[] {
  const later = ['l_click', ...funnel.actions.map((_, k) => `l_a${k}`), 'l_buy'];
  return [
    { name: `no entry event (${funnel.entryEvents.join('|')}) before a later stage`, sql: `(t_entry IS NULL AND (${later.join(' OR ')}))` },
    ...funnel.actions.map((a, k) => ({ name: `${a.name} without ${funnel.click.name}`, sql: `(l_a${k} AND NOT l_click)` })),
    { name: `${funnel.buy.name} without ${funnel.click.name}`, sql: `(l_buy AND NOT l_click)` },
  ];
}

export function breakCountsSql(breaks: readonly FunnelBreak[]): string {
  const cases = breaks.map((b, k) => `count(*) FILTER (WHERE ${b.sql}) AS b${k}`);
  return `SELECT count(*) AS units, ${cases.join(', ')}, count(*) FILTER (WHERE ${anyBreak(breaks)}) AS broken FROM units`;
}

const anyBreak = (breaks: readonly FunnelBreak[]): string => `(${breaks.map((b) => b.sql).join(' OR ')})`;

/** Output columns: labels, then features; `t_row` (the unit's time) orders and splits. */
export interface FunnelColumns {
  labels: string[];
  categorical: string[];
  numeric: string[];
  user: string;
  /** Written but not a feature (the session id of a session x item unit). */
  passThrough: string[];
}

export function funnelTableSql(spec: EventsSpec, funnel: ModelFunnel, unit: Unit, policy: OutOfOrderPolicy, out: FunnelColumns): string {
  const breaks = funnelBreaks(funnel);
  const actions = funnel.actions.map((_, k) => `l_a${k}`);
  const click = policy === 'imply' ? `(${['l_click', ...actions, 'l_buy'].join(' OR ')})` : 'l_click';
  const label = (sql: string, name: string): string => `CAST(${sql} AS INTEGER) AS ${sqlIdent(name)}`;
  const [user, item, ...attrNames] = out.categorical;
  const c = spec.columns;
  const catAttrs = c.categorical.map((_, j) => `a${j} AS ${sqlIdent(attrNames[j]!)}`);
  const hour = `CAST(CAST(floor(coalesce(t_entry, t_any) / 3600) AS BIGINT) % 24 AS VARCHAR)`;
  // 1970-01-01 was a Thursday: day 0 -> weekday 4 (Monday 1 ... Sunday 7 as 7 % 7 = 0).
  const weekday = `CAST((CAST(floor(coalesce(t_entry, t_any) / 86400) AS BIGINT) + 4) % 7 AS VARCHAR)`;
  const cols = [
    label(click, funnel.click.name),
    ...funnel.actions.map((a, k) => label(`l_a${k}`, a.name)),
    label('l_buy', funnel.buy.name),
    `u AS ${sqlIdent(user!)}`,
    `i AS ${sqlIdent(item!)}`,
    ...catAttrs,
    `${hour} AS entry_hour`,
    `${weekday} AS entry_weekday`,
    ...c.numeric.map((_, j) => `n${j} AS ${sqlIdent(out.numeric[j]!)}`),
    ...(unit === 'session-item' ? [`s AS ${sqlIdent(out.passThrough[0]!)}`] : []),
    'coalesce(t_entry, t_any) AS t_row',
  ];
  const where = policy === 'drop' ? ` WHERE NOT ${anyBreak(breaks)}` : '';
  return `CREATE TABLE funnel AS SELECT ${cols.join(', ')} FROM units${where}`;
}

export function copySplitSql(out: FunnelColumns, condition: string, file: string): string {
  const cols = [...out.labels, ...out.categorical, ...out.numeric, ...out.passThrough].map(sqlIdent).join(', ');
  // Ordered by time, then the unit's ids, so the same log always gives the same files.
  const order = ['t_row', out.user, out.categorical[1]!, ...out.passThrough].map((c) => (c === 't_row' ? c : sqlIdent(c))).join(', ');
  return `COPY (SELECT ${cols} FROM funnel WHERE ${condition} ORDER BY ${order}) TO ${sqlString(file)} (FORMAT parquet)`;
}

/** Row count and the rate of each label over the rows matching `condition`. */
export function splitStatsSql(labels: readonly string[], condition: string): string {
  const rates = labels.map((l) => `avg(${sqlIdent(l)}) AS ${sqlIdent(l)}`);
  const click = sqlIdent(labels[0]!);
  const buy = sqlIdent(labels[labels.length - 1]!);
  // The conversion rate among clicked rows (the CVR space).
  const cvr = `avg(${buy}) FILTER (WHERE ${click} = 1) AS buy_given_click`;
  return `SELECT count(*) AS rows, ${rates.join(', ')}, ${cvr}, min(t_row) AS t_min, max(t_row) AS t_max FROM funnel WHERE ${condition}`;
}
