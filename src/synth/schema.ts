/** Column names of the simulator's files and the Schema that reads them. */
import type { Schema } from '../data/schema.js';

export const SYNTH_FEATURE_COLUMNS = [
  'user_id',
  'item_id',
  'item_category',
  'user_segment',
  'position',
  'recent_categories',
  'item_price',
  'user_activity',
] as const;
export const SYNTH_LABEL_COLUMNS = ['click', 'cart', 'buy'] as const;
/** Written in valid.csv and test.csv only. */
export const SYNTH_TRUTH_COLUMNS = ['true_pctr', 'true_pcvr', 'true_pctcvr', 'potential_buy'] as const;

export function synthSchema(): Schema {
  return {
    labels: { click: 'click', buy: 'buy', actions: ['cart'] },
    categorical: ['user_id', 'item_id', 'item_category', 'user_segment', 'position'],
    multi_valued: [{ name: 'recent_categories', separator: '|' }],
    numeric: ['item_price', 'user_activity'],
    group: 'user_id',
    truth: [...SYNTH_TRUTH_COLUMNS],
  };
}
