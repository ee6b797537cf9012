import type { Schema } from '../../data/schema.js';
import { plainColumnName } from '../column-names.js';

/**
 * The schema the census-style presets share (adult, census-income, census-income-raw): task 1
 * (the CTR position) is income > 50K, task 2 (the CVR position) never married given task 1;
 * their columns become plain identifiers. The task names are what tables and reports show.
 */
export function incomeMaritalSchema(categorical: readonly string[], numeric: readonly string[]): Schema {
  return {
    labels: { click: 'click', buy: 'buy' },
    task_names: { click: 'income', buy: 'never married' },
    categorical: categorical.map(plainColumnName),
    numeric: numeric.map(plainColumnName),
  };
}
