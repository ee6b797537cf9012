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

/** Truth column of p(stage | previous stage) in chain mode. */
export const stageTruthColumn = (stage: string): string => `true_p_${stage}`;

/**
 * The simulator's schema; with `stages` (chain mode) the labels are the stages in order: the
 * first is the click, the last the conversion, the ones between are actions.
 */
export function synthSchema(stages?: string[]): Schema {
  const chain = stages !== undefined && stages.length >= 2;
  return {
    labels: chain
      ? { click: stages[0]!, buy: stages[stages.length - 1]!, ...(stages.length > 2 ? { actions: stages.slice(1, -1) } : {}) }
      : { click: 'click', buy: 'buy', actions: ['cart'] },
    categorical: ['user_id', 'item_id', 'item_category', 'user_segment', 'position'],
    multi_valued: [{ name: 'recent_categories', separator: '|' }],
    numeric: ['item_price', 'user_activity'],
    group: 'user_id',
    truth: [...SYNTH_TRUTH_COLUMNS, ...(chain ? stages.slice(1).map(stageTruthColumn) : [])],
  };
}
