/**
 * `esmm convert events --input LOG --out DIR [--preset taobao|rees46] [flags]`: a raw event log ->
 * DIR/train|valid|test.parquet and DIR/esmm.yaml. argv holds the words after `convert events`.
 */
import path from 'node:path';
import { convertEvents, type EventsProgress, type EventsSummary, type OutOfOrderPolicy, type SplitSpec, type Unit } from '../../datasets/events/convert-events.js';
import { EVENT_PRESETS, eventPreset } from '../../datasets/events/event-presets.js';
import type { EventsSpec, EventStage } from '../../datasets/events/events-spec.js';
import { UserError } from '../../errors.js';
import { intFlag, log, parseFlags, requireFlag } from '../args.js';

export const CONVERT_EVENTS_USAGE = `usage: esmm convert events --input LOG --out DIR (--preset NAME | column and stage flags) [options]

Turns a raw event log (one line per view, cart, purchase, ...) into funnel rows, one per unit,
with 0/1 stage labels; splits them by time into DIR/train.parquet, DIR/valid.parquet,
DIR/test.parquet and writes DIR/esmm.yaml, so the next command is
  esmm train --config DIR/esmm.yaml --out MODEL

presets (${Object.keys(EVENT_PRESETS).join(', ')}):
  taobao   Taobao UserBehavior: no header, user_id,item_id,category_id,behavior,timestamp;
           pv is the entry (no exposures logged), labels cart_or_fav (cart|fav) and buy
  rees46   REES46 e-commerce events: event_time,event_type,product_id,...,user_id,user_session;
           view is the entry, labels cart and buy (purchase)
  Any flag below replaces that part of the preset.

columns:
  --user C --item C --event C --time C   the log's columns (time: epoch seconds or a timestamp)
  --session C          session column (needed for --unit session-item)
  --categorical A,B    item/user attribute columns kept as categorical features
  --numeric A,B        attribute columns kept as numeric features (value at the first entry event)
  --columns A,B,...    the file has no header: its column names in order
  --delimiter X        field separator (default: detected)
  --time-unit s|ms     unit of a numeric time column (default s)
stage map (comma-separated event names):
  --exposure E         exposure (impression) events, when the log has them
  --click E            click / view events
  --action NAME=E      a post-click action (cart, fav, ...); repeat for more
  --buy E              purchase events
  --entry exposure|click   the stage that makes a row (default: exposure when --exposure is
                       given, else click; with click, the model's click label is "any action")
options:
  --unit user-item|session-item   one row per user x item (default) or session x item
  --out-of-order imply|keep|drop  a later stage without an earlier one (buy without cart, ...):
                       imply the earlier stage (default), keep the labels as logged (rows that
                       break the funnel are then skipped by training), or drop the row
  --split F,F,F        train/valid/test fractions by each row's first entry time (default 0.8,0.1,0.1)
  --valid-from T --test-from T   cut-off times instead (2017-12-02, or epoch seconds)
  --skip-invalid       skip and count events with no user, item, event or time (default: refuse)
  --memory-limit SIZE  DuckDB memory limit (default 2GB); past it DuckDB spills inside DIR
  --threads N          DuckDB threads
  --quiet              no progress on stderr`;

const OPTIONS = {
  input: { type: 'string' },
  out: { type: 'string' },
  preset: { type: 'string' },
  user: { type: 'string' },
  item: { type: 'string' },
  event: { type: 'string' },
  time: { type: 'string' },
  session: { type: 'string' },
  categorical: { type: 'string' },
  numeric: { type: 'string' },
  columns: { type: 'string' },
  delimiter: { type: 'string' },
  'time-unit': { type: 'string' },
  exposure: { type: 'string' },
  click: { type: 'string' },
  action: { type: 'string', multiple: true },
  buy: { type: 'string' },
  entry: { type: 'string' },
  unit: { type: 'string' },
  'out-of-order': { type: 'string' },
  split: { type: 'string' },
  'valid-from': { type: 'string' },
  'test-from': { type: 'string' },
  'skip-invalid': { type: 'boolean' },
  'memory-limit': { type: 'string' },
  threads: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const CMD = 'convert events';

export async function convertEventsCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseFlags(CMD, argv, OPTIONS);
  if (v.help === true) {
    console.log(CONVERT_EVENTS_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UserError(`unexpected argument '${positionals[0]}'`);
  const input = requireFlag(CMD, v.input, 'input');
  const out = requireFlag(CMD, v.out, 'out');
  const spec = buildSpec(v);
  const summary = await convertEvents({
    input,
    outDir: out,
    spec,
    ...(v.preset !== undefined ? { preset: v.preset } : {}),
    unit: oneOf(v.unit, 'unit', ['user-item', 'session-item'] as const) ?? 'user-item',
    outOfOrder: oneOf(v['out-of-order'], 'out-of-order', ['keep', 'imply', 'drop'] as const) ?? 'imply',
    split: parseSplit(v.split, v['valid-from'], v['test-from']),
    skipInvalid: v['skip-invalid'] === true,
    ...(v['memory-limit'] !== undefined ? { memoryLimit: v['memory-limit'] } : {}),
    ...(v.threads !== undefined ? { threads: intFlag(CMD, v.threads, 'threads')! } : {}),
    ...(v.quiet === true ? {} : { onProgress: printProgress }),
  });
  process.stdout.write(`${formatSummary(summary)}\n`);
  return 0;
}

type Values = Partial<Record<Exclude<keyof typeof OPTIONS, 'action' | 'skip-invalid' | 'quiet' | 'help'>, string>> & { action?: string[] };

function buildSpec(v: Values): EventsSpec {
  const base: EventsSpec =
    v.preset !== undefined
      ? eventPreset(v.preset)
      : { header: true, columns: { user: '', item: '', event: '', time: '', categorical: [], numeric: [] }, click: [], actions: [], buy: [], entry: 'click', timeUnit: 's' };
  const c = base.columns;
  for (const role of ['user', 'item', 'event', 'time'] as const) {
    const given = v[role];
    if (given !== undefined) c[role] = given;
    if (c[role] === '') throw new UserError(`missing --${role} COLUMN (or use --preset ${Object.keys(EVENT_PRESETS).join('|')})`);
  }
  if (v.session !== undefined) c.session = v.session;
  if (v.categorical !== undefined) c.categorical = list(v.categorical);
  if (v.numeric !== undefined) c.numeric = list(v.numeric);
  if (v.columns !== undefined) {
    base.header = false;
    base.names = list(v.columns);
  }
  if (v.delimiter !== undefined) base.delimiter = v.delimiter;
  const unit = oneOf(v['time-unit'], 'time-unit', ['s', 'ms'] as const);
  if (unit !== undefined) base.timeUnit = unit;
  if (v.exposure !== undefined) base.exposure = list(v.exposure);
  if (v.click !== undefined) base.click = list(v.click);
  if (v.buy !== undefined) base.buy = list(v.buy);
  if (v.action !== undefined) base.actions = v.action.map(parseAction);
  const entry = oneOf(v.entry, 'entry', ['exposure', 'click'] as const);
  base.entry = entry ?? (v.exposure !== undefined ? 'exposure' : base.entry);
  return base;
}

function parseAction(text: string): EventStage {
  const at = text.indexOf('=');
  if (at <= 0) throw new UserError(`--action expects NAME=EVENTS (e.g. cart=cart,add_to_cart), got '${text}'`);
  return { name: text.slice(0, at).trim(), events: list(text.slice(at + 1)) };
}

function parseSplit(split: string | undefined, validFrom: string | undefined, testFrom: string | undefined): SplitSpec {
  if (validFrom !== undefined || testFrom !== undefined) {
    if (split !== undefined) throw new UserError(`give --split or --valid-from/--test-from, not both`);
    if (validFrom === undefined || testFrom === undefined) throw new UserError(`--valid-from and --test-from go together`);
    return { kind: 'dates', validFrom, testFrom };
  }
  if (split === undefined) return { kind: 'fractions', train: 0.8, valid: 0.1, test: 0.1 };
  const parts = split.split(',').map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p))) throw new UserError(`--split expects three fractions like 0.8,0.1,0.1, got '${split}'`);
  return { kind: 'fractions', train: parts[0]!, valid: parts[1]!, test: parts[2]! };
}

function oneOf<T extends string>(value: string | undefined, flag: string, options: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!options.includes(value as T)) throw new UserError(`--${flag} expects one of ${options.join(', ')}, got '${value}'`);
  return value as T;
}

const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function printProgress(p: EventsProgress): void {
  if (p.stage === 'write') {
    if (p.percentage === 100) log('splits written');
    return;
  }
  const what = p.stage === 'scan' ? 'counting events' : 'grouping events into units';
  log(`${what}: ${p.percentage.toFixed(0)}%`);
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

export function formatSummary(s: EventsSummary): string {
  const e = s.events;
  const lines = [
    `entry stage: ${s.entry}`,
    `rows: one per ${s.unit}; labels ${Object.entries(s.stage_events).map(([l, ev]) => `${l} = ${ev.join('|')}`).join(', ')}`,
    `events: ${e.read} read, ${e.skipped_invalid} skipped as invalid, ${e.ignored_unmapped} ignored (not in the stage map)`,
    `units: ${s.units}; out of order (policy ${s.out_of_order.policy}): ${Object.entries(s.out_of_order.cases).map(([k, n]) => `${k}: ${n}`).join(', ')}` +
      (s.out_of_order.dropped > 0 ? `; dropped ${s.out_of_order.dropped}` : ''),
  ];
  if (s.skip_invalid_in_config) lines.push('  (kept rows with a later stage but no click: esmm.yaml sets data.skip_invalid, so training counts and skips them)');
  lines.push(`split: ${s.split.method}; valid from ${s.split.valid_from}, test from ${s.split.test_from}`);
  const rateNames = Object.keys(s.splits.train.rates);
  const header = ['split', 'rows', ...rateNames.map((r) => r.replace(/_given_/, '|'))];
  const table = [header, ...(['train', 'valid', 'test'] as const).map((k) => [k, String(s.splits[k].rows), ...rateNames.map((r) => pct(s.splits[k].rates[r] ?? 0))])];
  const widths = header.map((_, j) => Math.max(...table.map((row) => row[j]!.length)));
  for (const row of table) lines.push(`  ${row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('  ')}`);
  const dir = s.out_dir;
  lines.push(`wrote ${path.join(dir, 'train.parquet')}, valid.parquet, test.parquet and ${path.join(dir, 'esmm.yaml')} (model ${s.model}) in ${s.seconds.toFixed(1)} s`);
  lines.push(`next: esmm train --config ${path.join(dir, 'esmm.yaml')} --out MODEL_DIR`);
  return lines.join('\n');
}
