/**
 * How the columns of a user's file map onto the funnel: labels, features, group, truth.
 * This is the `schema:` block of a config file.
 */
export interface LabelsSchema {
  /** Column holding 0/1 click. */
  click: string;
  /** Column holding 0/1 conversion (buy). A row with buy=1 and click=0 is invalid. */
  buy: string;
  /**
   * Post-click action columns (cart, wish, ...). ESM2's DAction is "any of these is 1".
   * An action=1 with click=0 is invalid.
   */
  actions?: string[];
}

export interface MultiValuedField {
  /** Column name. */
  name: string;
  /** Separator between ids inside the cell, e.g. '|' or ','. */
  separator: string;
  /** Optional separator between id and weight inside one item (`id:weight`). */
  weight_separator?: string;
}

export interface Schema {
  labels: LabelsSchema;
  /** Single-valued categorical columns. */
  categorical: string[];
  /** Multi-valued categorical columns. */
  multi_valued?: MultiValuedField[];
  /** Numeric columns. */
  numeric?: string[];
  /** Optional group column (e.g. user id) used for GAUC; may also be a feature. */
  group?: string;
  /**
   * Columns carried through but never used as features (the simulator's truth columns such as
   * true_pctr, true_pcvr, potential_buy). Listing one of them as a feature is refused.
   */
  truth?: string[];
  /**
   * Features the leakage guard lets through although they separate a label almost perfectly on
   * the training data (see features/leakage-guard.ts); for columns truly known before the outcome.
   */
  allow_leaky?: string[];
  /**
   * Display names of the tasks by label key, e.g. { click: income, buy: never married }: tables,
   * epoch lines and reports show them; metric keys (auc_ctr, ...) stay as they are.
   */
  task_names?: { click?: string; buy?: string; actions?: string };
}

/** Columns the schema needs from a file, in a stable order. */
export function requiredColumns(schema: Schema): string[] {
  const cols = [schema.labels.click, schema.labels.buy, ...(schema.labels.actions ?? [])];
  cols.push(...schema.categorical);
  cols.push(...(schema.multi_valued ?? []).map((m) => m.name));
  cols.push(...(schema.numeric ?? []));
  if (schema.group !== undefined) cols.push(schema.group);
  return [...new Set(cols)];
}

/** All label columns (click, buy, actions). */
export function labelColumns(schema: Schema): string[] {
  return [schema.labels.click, schema.labels.buy, ...(schema.labels.actions ?? [])];
}

/** All feature columns (categorical, multi-valued, numeric). */
export function featureColumns(schema: Schema): string[] {
  return [
    ...schema.categorical,
    ...(schema.multi_valued ?? []).map((m) => m.name),
    ...(schema.numeric ?? []),
  ];
}
