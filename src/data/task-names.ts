/**
 * Display names of the funnel's tasks, from the schema's `task_names` (e.g. the Adult preset's
 * towers are "income" and "never married"). Only what people read changes (tables, epoch lines,
 * reports); metric keys stay auc_ctr, auc_cvr_clicked, auc_ctcvr, ... so scripts keep working,
 * and metrics.json carries this map so a reader can go from a key's task to its name.
 */
import type { Schema } from './schema.js';

/** A name per metric task key (the suffix of auc_ctr, auc_cvr_clicked, auc_ctcvr, auc_action). */
export interface TaskNames {
  ctr: string;
  /** The conditional task (scored on clicked rows). */
  cvr: string;
  ctcvr: string;
  action: string;
}

export const DEFAULT_TASK_NAMES: TaskNames = { ctr: 'CTR', cvr: 'CVR', ctcvr: 'CTCVR', action: 'action' };

/** The label keys `schema.task_names` may name (those of `schema.labels`). */
export const TASK_NAME_KEYS = ['click', 'buy', 'actions'] as const;

/**
 * CTR/CVR/CTCVR when the schema names nothing. Otherwise the click task is called by its name
 * (C), the conditional task "B | C", the entire-space task "C & B", the action task "C & A";
 * a label without a name is called by its column.
 */
export function taskNames(schema: Pick<Schema, 'labels' | 'task_names'> | undefined): TaskNames {
  const tn = schema?.task_names;
  if (schema === undefined || tn === undefined || Object.keys(tn).length === 0) return { ...DEFAULT_TASK_NAMES };
  const c = tn.click ?? schema.labels.click;
  const b = tn.buy ?? schema.labels.buy;
  const a = tn.actions ?? ((schema.labels.actions ?? []).length > 0 ? schema.labels.actions!.join(' or ') : 'action');
  return { ctr: c, cvr: `${b} | ${c}`, ctcvr: `${c} & ${b}`, action: `${c} & ${a}` };
}

/**
 * Funnel stage (a label column, or the action columns joined by ' or ') -> its display name;
 * stages without a name keep their column name.
 */
export function stageNames(schema: Pick<Schema, 'labels' | 'task_names'> | undefined): Record<string, string> {
  const tn = schema?.task_names;
  if (schema === undefined || tn === undefined) return {};
  const out: Record<string, string> = {};
  if (tn.click !== undefined) out[schema.labels.click] = tn.click;
  if (tn.buy !== undefined) out[schema.labels.buy] = tn.buy;
  if (tn.actions !== undefined) out[(schema.labels.actions ?? ['action']).join(' or ')] = tn.actions;
  return out;
}
