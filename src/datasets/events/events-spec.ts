/**
 * What `esmm convert events` needs to know about an event log: where the user, item, event, time
 * and session live, which item/user attribute columns to carry as features, and the stage map
 * (which event names are exposures, clicks, each post-click action and buys).
 *
 * The funnel the model sees starts at the entry stage. With exposures in the log the entry is the
 * exposure: rows are exposed units, labels click, the actions and buy. Logs such as Taobao
 * UserBehavior and REES46 have no exposures: a pv/view is already a visit (a click), so the entry
 * is the click stage. Every row would then be clicked, so the funnel moves up one step: the model's
 * click label is "any post-click action" (cart, fav, ...) and buy stays buy.
 */
import { UserError } from '../../errors.js';
import { plainColumnName } from '../column-names.js';

export interface EventStage {
  /** Label column name (plain identifier). */
  name: string;
  /** Event names (values of the event column) that mean this stage. */
  events: string[];
}

export interface EventColumns {
  user: string;
  item: string;
  event: string;
  time: string;
  session?: string;
  /** Attribute columns carried as categorical features (value at the unit's first entry event). */
  categorical: string[];
  /** Attribute columns carried as numeric features. */
  numeric: string[];
}

export interface EventsSpec {
  columns: EventColumns;
  /** The file's first line is a header (false: `names` gives the columns in order). */
  header: boolean;
  names?: string[];
  delimiter?: string;
  exposure?: string[];
  click: string[];
  actions: EventStage[];
  buy: string[];
  entry: 'exposure' | 'click';
  /** Unit of a numeric time column (epoch seconds or milliseconds). */
  timeUnit: 's' | 'ms';
}

/** The funnel as the model sees it: which events make a row, and each label column. */
export interface ModelFunnel {
  /** Human name of the entry stage for the summary, e.g. "click (pv)". */
  entryName: string;
  entryEvents: string[];
  /** The model's click label. */
  click: EventStage;
  /** ESM2 actions between click and buy (only when the entry is an exposure). */
  actions: EventStage[];
  buy: EventStage;
  /** Every event name the funnel uses; other events are ignored and counted. */
  mapped: string[];
}

export function modelFunnel(spec: EventsSpec): ModelFunnel {
  const buy: EventStage = { name: 'buy', events: spec.buy };
  const actionEvents = spec.actions.flatMap((a) => a.events);
  // With the click stage as the entry, exposure events (if any) come before the funnel: ignored.
  const mapped = [...new Set([...(spec.entry === 'exposure' ? (spec.exposure ?? []) : []), ...spec.click, ...actionEvents, ...spec.buy])];
  if (spec.entry === 'exposure') {
    if (spec.exposure === undefined || spec.exposure.length === 0) {
      throw new UserError("--entry exposure needs --exposure EVENTS (or use --entry click when the log has no exposures)");
    }
    return {
      entryName: `exposure (${spec.exposure.join('|')})`,
      entryEvents: spec.exposure,
      click: { name: 'click', events: spec.click },
      actions: spec.actions,
      buy,
      mapped,
    };
  }
  if (spec.actions.length === 0) {
    throw new UserError(
      "esmm convert events: with the click stage as the entry every row is clicked, so the funnel needs at least one --action NAME=EVENTS (e.g. cart) for the model's click label",
    );
  }
  return {
    entryName: `click (${spec.click.join('|')}; the log has no exposure events)`,
    entryEvents: spec.click,
    click: { name: spec.actions.map((a) => a.name).join('_or_'), events: actionEvents },
    actions: [],
    buy,
    mapped,
  };
}

/** Checks names and overlaps: one event name in two stages, label names clashing with features. */
export function checkSpec(spec: EventsSpec, featureNames: readonly string[]): void {
  const owner = new Map<string, string>();
  const stages: [string, string[]][] = [
    ['exposure', spec.exposure ?? []],
    ['click', spec.click],
    ...spec.actions.map((a): [string, string[]] => [`action '${a.name}'`, a.events]),
    ['buy', spec.buy],
  ];
  for (const [stage, events] of stages) {
    for (const e of events) {
      const earlier = owner.get(e);
      if (earlier !== undefined) throw new UserError(`event '${e}' is given for both ${earlier} and ${stage}`);
      owner.set(e, stage);
    }
  }
  if (spec.click.length === 0) throw new UserError('no click events (--click EVENTS)');
  if (spec.buy.length === 0) throw new UserError('no buy events (--buy EVENTS)');
  const labels = new Set<string>();
  for (const a of spec.actions) {
    if (a.name !== plainColumnName(a.name)) throw new UserError(`action name '${a.name}' must be a plain identifier (letters, digits, _)`);
    if (a.events.length === 0) throw new UserError(`action '${a.name}' has no events`);
    labels.add(a.name);
  }
  const funnel = modelFunnel(spec);
  const labelNames = [funnel.click.name, ...funnel.actions.map((a) => a.name), funnel.buy.name];
  if (new Set(labelNames).size !== labelNames.length) throw new UserError(`label names must differ (got ${labelNames.join(', ')}); rename the action`);
  for (const name of labelNames) labels.add(name);
  for (const f of featureNames) {
    if (labels.has(f)) throw new UserError(`feature column '${f}' has the name of a label column; rename the action`);
  }
}
