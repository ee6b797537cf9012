/**
 * `esmm convert events`: a raw event log (one line per view, cart, buy, ...) -> funnel rows, one
 * per unit (user x item or session x item), with 0/1 stage labels and the unit's attributes at its
 * first entry event as features, split by time into DIR/train|valid|test.parquet, plus a ready
 * DIR/esmm.yaml.
 *
 * DuckDB does all the work in SQL (events-sql.ts): one scan counts events per name, a second
 * groups them into units (an out-of-core hash aggregate into an in-memory table that DuckDB spills
 * to a work folder inside DIR past memoryLimit), then each split is copied out in time order. Outputs are
 * written under temporary names and renamed once complete; the work folder is removed at the end.
 *
 * Leakage by construction is avoided: no feature is computed from events after the entry (no
 * counts, no later times); labels are the only columns that look at the whole unit.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { UserError } from '../../errors.js';
import { plainColumnName, plainColumnNames } from '../column-names.js';
import { sqlString } from '../sql-text.js';
import { checkSpec, modelFunnel, type EventsSpec, type ModelFunnel } from './events-spec.js';
import {
  breakCountsSql,
  copySplitSql,
  eventCountsSql,
  eventsViewSql,
  firstBadEventSql,
  funnelBreaks,
  funnelTableSql,
  sourceSql,
  splitStatsSql,
  unitsTableSql,
  type FunnelColumns,
  type OutOfOrderPolicy,
  type Unit,
} from './events-sql.js';
import { eventsConfigYaml } from './events-config.js';
import { claimOutDir, partialName, workDirName, writeAtomically } from './out-dir.js';

export type { OutOfOrderPolicy, Unit } from './events-sql.js';

export type SplitSpec =
  | { kind: 'fractions'; train: number; valid: number; test: number }
  /** Cut-off times: epoch seconds, or anything DuckDB casts to TIMESTAMP ('2017-12-02', ...). */
  | { kind: 'dates'; validFrom: string; testFrom: string };

export interface EventsProgress {
  /** 'scan': counting events; 'group': building units; 'write': writing the splits. */
  stage: 'scan' | 'group' | 'write';
  /** DuckDB's estimate for the running statement (0..100; 100 when the stage ends). */
  percentage: number;
}

export interface ConvertEventsOptions {
  input: string;
  outDir: string;
  spec: EventsSpec;
  /** Preset name, for the summary and the config's comment. */
  preset?: string;
  unit?: Unit;
  /** Default 'imply': every conversion stays, and every row is a valid funnel row. */
  outOfOrder?: OutOfOrderPolicy;
  split?: SplitSpec;
  /** Skip (and count) events with no user, item, event name or readable time, instead of failing. */
  skipInvalid?: boolean;
  /** DuckDB memory_limit (default '2GB'); past it DuckDB spills into a work folder inside outDir. */
  memoryLimit?: string;
  threads?: number;
  onProgress?: (p: EventsProgress) => void;
  progressIntervalMs?: number;
}

export interface SplitSummary {
  rows: number;
  /** Rate of each label column (share of rows with 1), plus buy among rows with the click label. */
  rates: Record<string, number>;
  /** First and last unit time in the split (ISO, UTC). */
  from: string | null;
  to: string | null;
}

export interface EventsSummary {
  input: string;
  out_dir: string;
  preset: string | null;
  unit: Unit;
  entry: string;
  labels: { click: string; actions: string[]; buy: string };
  /** What each label means in events of the log. */
  stage_events: Record<string, string[]>;
  events: { read: number; skipped_invalid: number; ignored_unmapped: number; by_name: Record<string, number> };
  units: number;
  out_of_order: { policy: OutOfOrderPolicy; cases: Record<string, number>; units_breaking: number; dropped: number };
  /** esmm.yaml sets data.skip_invalid (keep policy with rows that break the funnel's labels). */
  skip_invalid_in_config: boolean;
  split: { method: string; valid_from: string; test_from: string };
  splits: { train: SplitSummary; valid: SplitSummary; test: SplitSummary };
  model: string;
  seconds: number;
  /** Wall time of each step: scan (count events), group (units), label_and_split, write. */
  stage_seconds: Record<string, number>;
}

const SPLITS = ['train', 'valid', 'test'] as const;

export async function convertEvents(options: ConvertEventsOptions): Promise<EventsSummary> {
  const started = performance.now();
  const { input, outDir, spec } = options;
  const unit = options.unit ?? 'user-item';
  const policy = options.outOfOrder ?? 'imply';
  const split = options.split ?? { kind: 'fractions', train: 0.8, valid: 0.1, test: 0.1 };
  checkSplit(split);
  if (unit === 'session-item' && spec.columns.session === undefined) {
    throw new UserError('--unit session-item needs a session column (--session COLUMN)');
  }
  const funnel = modelFunnel(spec);
  const columns = outputColumns(spec, funnel, unit);
  checkSpec(spec, [...columns.categorical, ...columns.numeric, ...columns.passThrough]);
  const info = await stat(input).catch(() => null);
  if (info === null || !info.isFile()) throw new UserError('no such file', { file: input });

  await claimOutDir(outDir);
  const workDir = path.join(outDir, workDirName());
  await mkdir(workDir, { recursive: true });
  // An in-memory database: past memory_limit DuckDB spills its tables and operators to the work
  // folder, and it ran the group step 1.5x faster than a database file (measured, 2M events).
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const partials = SPLITS.map((s) => partialName(path.join(outDir, `${s}.parquet`)));
  try {
    await configure(connection, options, path.join(workDir, 'spill'));
    await checkColumns(connection, input, spec);
    await connection.run(eventsViewSql(input, spec));
    // DuckDB's own progress estimate: a row-counting UDF in the scan (as convert ali-ccp uses) made
    // the group step about 40% slower in one measurement (2M events, shared 2-core box).
    if (options.onProgress !== undefined) {
      await connection.run('SET enable_progress_bar = true');
      await connection.run('SET enable_progress_bar_print = false');
    }
    const stageSeconds: Record<string, number> = {};
    const stage = async <T>(name: EventsProgress['stage'], work: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const result = await withProgress(connection, name, options, work);
      stageSeconds[name] = (stageSeconds[name] ?? 0) + (performance.now() - t) / 1000;
      return result;
    };

    const events = await stage('scan', () => countEvents(connection, input, spec, funnel, unit, options.skipInvalid === true));
    await stage('group', () => connection.run(unitsTableSql(spec, funnel, unit)));
    const breaks = funnelBreaks(funnel);
    const counts = (await connection.runAndReadAll(breakCountsSql(breaks))).getRowObjectsJS()[0]!;
    const cases: Record<string, number> = {};
    breaks.forEach((b, k) => (cases[b.name] = Number(counts[`b${k}`])));
    const units = Number(counts.units);
    const broken = Number(counts.broken);
    const tFunnel = performance.now();
    await connection.run(funnelTableSql(spec, funnel, unit, policy, columns));
    await connection.run('DROP TABLE units');

    const cuts = await cutTimes(connection, split);
    const conditions = {
      train: `t_row < ${cuts.valid}`,
      valid: `t_row >= ${cuts.valid} AND t_row < ${cuts.test}`,
      test: `t_row >= ${cuts.test}`,
    };
    const splits = {} as EventsSummary['splits'];
    for (const s of SPLITS) {
      splits[s] = await splitStats(connection, columns.labels, funnel, conditions[s]);
      if (splits[s].rows === 0) {
        throw new UserError(
          `the time split leaves '${s}' empty (valid from ${iso(cuts.valid)}, test from ${iso(cuts.test)}); give other --split fractions or dates`,
          { file: input },
        );
      }
    }
    stageSeconds.label_and_split = (performance.now() - tFunnel) / 1000;
    await stage('write', async () => {
      for (const [k, s] of SPLITS.entries()) await connection.run(copySplitSql(columns, conditions[s], partials[k]!));
    });
    for (const [k, s] of SPLITS.entries()) await rename(partials[k]!, path.join(outDir, `${s}.parquet`));

    // breaks[0] (no entry event) leaves the labels valid; the others make a row esmm's reader refuses.
    const labelBreaks = breaks.slice(1);
    const skipInvalidInConfig = policy === 'keep' && labelBreaks.some((b) => (cases[b.name] ?? 0) > 0);
    const model = funnel.actions.length > 0 ? 'esm2' : 'esmm';
    const summary: EventsSummary = {
      input,
      out_dir: outDir,
      preset: options.preset ?? null,
      unit,
      entry: funnel.entryName,
      labels: { click: funnel.click.name, actions: funnel.actions.map((a) => a.name), buy: funnel.buy.name },
      stage_events: Object.fromEntries([funnel.click, ...funnel.actions, funnel.buy].map((s) => [s.name, s.events])),
      events,
      units,
      out_of_order: { policy, cases, units_breaking: broken, dropped: policy === 'drop' ? broken : 0 },
      skip_invalid_in_config: skipInvalidInConfig,
      split: {
        method: split.kind === 'fractions' ? `time fractions ${split.train}/${split.valid}/${split.test}` : 'cut-off times',
        valid_from: iso(cuts.valid),
        test_from: iso(cuts.test),
      },
      splits,
      model,
      seconds: 0,
      stage_seconds: stageSeconds,
    };
    await writeAtomically(path.join(outDir, 'esmm.yaml'), eventsConfigYaml(summary, columns));
    summary.seconds = (performance.now() - started) / 1000;
    await writeAtomically(path.join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  } catch (error) {
    for (const p of partials) await rm(p, { force: true });
    throw error;
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Column names of the output: labels, features (user, item, attributes, entry time), pass-through. */
function outputColumns(spec: EventsSpec, funnel: ModelFunnel, unit: Unit): FunnelColumns {
  const c = spec.columns;
  const categorical = plainColumnNames([c.user, c.item, ...c.categorical]);
  categorical.push('entry_hour', 'entry_weekday');
  const numeric = c.numeric.map(plainColumnName);
  const passThrough = unit === 'session-item' ? [plainColumnName(c.session!)] : [];
  const all = [...categorical, ...numeric, ...passThrough];
  const twice = all.find((n, k) => all.indexOf(n) !== k);
  if (twice !== undefined) throw new UserError(`two output columns would be named '${twice}'; list each attribute column once`);
  return {
    labels: [funnel.click.name, ...funnel.actions.map((a) => a.name), funnel.buy.name],
    categorical,
    numeric,
    user: categorical[0]!,
    passThrough,
  };
}

function checkSplit(split: SplitSpec): void {
  if (split.kind !== 'fractions') return;
  const parts = [split.train, split.valid, split.test];
  if (parts.some((p) => !(p > 0)) || Math.abs(parts.reduce((a, b) => a + b, 0) - 1) > 1e-6) {
    throw new UserError(`--split needs three positive fractions adding up to 1, got ${parts.join(',')}`);
  }
}

async function configure(connection: DuckDBConnection, options: ConvertEventsOptions, spillDir: string): Promise<void> {
  await connection.run(`SET temp_directory = ${sqlString(spillDir)}`);
  await connection.run(`SET memory_limit = ${sqlString(options.memoryLimit ?? '2GB')}`);
  // Output order comes from ORDER BY; not keeping insertion order lets DuckDB stream with less memory.
  await connection.run('SET preserve_insertion_order = false');
  if (options.threads !== undefined) await connection.run(`SET threads = ${Math.max(1, Math.floor(options.threads))}`);
}

async function checkColumns(connection: DuckDBConnection, input: string, spec: EventsSpec): Promise<void> {
  let names: string[];
  try {
    const rows = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${sourceSql(input, spec)}`)).getRowObjectsJS();
    names = rows.map((r) => String(r.column_name));
  } catch (error) {
    throw new UserError(`cannot read the event log as CSV: ${firstLine(error)}`, { file: input });
  }
  const c = spec.columns;
  const wanted: [string, string | undefined][] = [
    ['user', c.user],
    ['item', c.item],
    ['event', c.event],
    ['time', c.time],
    ['session', c.session],
    ...c.categorical.map((n): [string, string] => ['categorical', n]),
    ...c.numeric.map((n): [string, string] => ['numeric', n]),
  ];
  for (const [role, name] of wanted) {
    if (name !== undefined && !names.includes(name)) {
      const hint = spec.header ? '' : ' (the file has no header; name its columns with --columns)';
      throw new UserError(`no ${role} column '${name}'; the file has: ${names.join(', ')}${hint}`, { file: input, column: name });
    }
  }
}

async function countEvents(
  connection: DuckDBConnection,
  input: string,
  spec: EventsSpec,
  funnel: ModelFunnel,
  unit: Unit,
  skipInvalid: boolean,
): Promise<EventsSummary['events']> {
  const needSession = unit === 'session-item';
  let rows: Record<string, unknown>[];
  try {
    rows = (await connection.runAndReadAll(eventCountsSql(needSession))).getRowObjectsJS();
  } catch (error) {
    throw new UserError(`cannot read the event log: ${firstLine(error)}`, { file: input });
  }
  const byName: Record<string, number> = {};
  let read = 0;
  let bad = 0;
  let unmapped = 0;
  for (const r of rows) {
    const good = Number(r.good);
    const name = r.e === null ? '' : String(r.e);
    read += good + Number(r.bad);
    bad += Number(r.bad);
    if (good === 0) continue;
    byName[name] = good;
    if (!funnel.mapped.includes(name)) unmapped += good;
  }
  if (bad > 0 && !skipInvalid) await refuseBadEvent(connection, input, spec, needSession);
  if (read - bad - unmapped === 0) {
    const seen = Object.keys(byName).slice(0, 10).join(', ');
    throw new UserError(
      `none of the stage events (${funnel.mapped.join(', ')}) occur in column '${spec.columns.event}'; it holds: ${seen || 'nothing usable'}`,
      { file: input, column: spec.columns.event },
    );
  }
  return { read, skipped_invalid: bad, ignored_unmapped: unmapped, by_name: byName };
}

/** Names the first unusable event; one thread so row_number() follows the file's order. */
async function refuseBadEvent(connection: DuckDBConnection, input: string, spec: EventsSpec, needSession: boolean): Promise<never> {
  await connection.run('SET threads = 1');
  const r = (await connection.runAndReadAll(firstBadEventSql(needSession))).getRowObjectsJS()[0];
  const c = spec.columns;
  const column = r === undefined ? undefined : r.no_user ? c.user : r.no_item ? c.item : r.no_event ? c.event : r.no_time ? c.time : c.session;
  const what = column === c.time ? 'empty or not a time (epoch number or timestamp)' : 'empty';
  // A header line read as data: say so rather than blame the cell.
  const header = !spec.header && r !== undefined && Number(r.row) === 1 ? ' (is the first line a header? this layout is read without one)' : '';
  throw new UserError(`${what}${header}; fix the file or pass --skip-invalid to skip and count such events`, {
    file: input,
    ...(r !== undefined ? { row: Number(r.row) } : {}),
    ...(column !== undefined ? { column } : {}),
  });
}

async function cutTimes(connection: DuckDBConnection, split: SplitSpec): Promise<{ valid: number; test: number }> {
  if (split.kind === 'fractions') {
    const sql = `SELECT quantile_disc(t_row, ${split.train}) AS v, quantile_disc(t_row, ${split.train + split.valid}) AS t FROM funnel`;
    const r = (await connection.runAndReadAll(sql)).getRowObjectsJS()[0]!;
    return { valid: Number(r.v), test: Number(r.t) };
  }
  const valid = await parseTime(connection, split.validFrom, '--valid-from');
  const test = await parseTime(connection, split.testFrom, '--test-from');
  if (!(valid < test)) throw new UserError(`--valid-from (${split.validFrom}) must come before --test-from (${split.testFrom})`);
  return { valid, test };
}

async function parseTime(connection: DuckDBConnection, text: string, flag: string): Promise<number> {
  const n = Number(text);
  if (text.trim() !== '' && Number.isFinite(n)) return n;
  const r = (await connection.runAndReadAll(`SELECT epoch_ms(TRY_CAST(${sqlString(text)} AS TIMESTAMP)) / 1000.0 AS t`)).getRowObjectsJS()[0]!;
  if (r.t === null) throw new UserError(`${flag} expects a date/time (2017-12-02, 2017-12-02 12:00:00) or epoch seconds, got '${text}'`);
  return Number(r.t);
}

async function splitStats(connection: DuckDBConnection, labels: readonly string[], funnel: ModelFunnel, condition: string): Promise<SplitSummary> {
  const r = (await connection.runAndReadAll(splitStatsSql(labels, condition))).getRowObjectsJS()[0]!;
  const rates: Record<string, number> = {};
  for (const l of labels) rates[l] = r[l] === null ? 0 : Number(r[l]);
  rates[`${funnel.buy.name}_given_${funnel.click.name}`] = r.buy_given_click === null ? 0 : Number(r.buy_given_click);
  return { rows: Number(r.rows), rates, from: r.t_min === null ? null : iso(Number(r.t_min)), to: r.t_max === null ? null : iso(Number(r.t_max)) };
}

async function withProgress<T>(connection: DuckDBConnection, stage: EventsProgress['stage'], options: ConvertEventsOptions, work: () => Promise<T>): Promise<T> {
  const { onProgress } = options;
  const report = (done: boolean): void => {
    const percentage = done ? 100 : Math.min(99, Math.max(0, connection.progress.percentage));
    onProgress?.({ stage, percentage });
  };
  const timer = onProgress === undefined ? undefined : setInterval(() => report(false), options.progressIntervalMs ?? 2000);
  try {
    const result = await work();
    report(true);
    return result;
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }
}

function iso(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString();
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
