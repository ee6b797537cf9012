/**
 * The Ali-CCP fields (ESMM paper, Table 1 of the public dataset) and how the converter lays them
 * out as columns. One place, so the converter, the `ali-ccp` preset and the tests agree.
 */
import type { Schema } from '../data/schema.js';
import { plainColumnName } from './column-names.js';

/** User profile fields (from the common features). */
export const ALI_CCP_USER_FIELDS = ['101', '121', '122', '124', '125', '126', '127', '128', '129'] as const;
/** User behaviour fields: multi-valued, value = count (from the common features). */
export const ALI_CCP_BEHAVIOUR_FIELDS = ['109_14', '110_14', '127_14', '150_14'] as const;
/** Item fields (from the sample skeleton). */
export const ALI_CCP_ITEM_FIELDS = ['205', '206', '207', '210', '216'] as const;
/** User x item cross fields: multi-valued, the value is kept as the weight. */
export const ALI_CCP_CROSS_FIELDS = ['508', '509', '702', '853'] as const;
/** Context field (position). */
export const ALI_CCP_CONTEXT_FIELDS = ['301'] as const;

/** Fields whose cell holds one feature id. */
export const ALI_CCP_SINGLE_FIELDS: readonly string[] = [
  ...ALI_CCP_USER_FIELDS,
  ...ALI_CCP_ITEM_FIELDS,
  ...ALI_CCP_CONTEXT_FIELDS,
];
/** Fields whose cell holds `id:value|id:value`. */
export const ALI_CCP_MULTI_FIELDS: readonly string[] = [...ALI_CCP_BEHAVIOUR_FIELDS, ...ALI_CCP_CROSS_FIELDS];

/**
 * Column order of the converter's output, as in the public preprocessed CSV: user, item, cross,
 * context, then behaviour.
 */
export const ALI_CCP_FIELDS: readonly string[] = [
  ...ALI_CCP_USER_FIELDS,
  ...ALI_CCP_ITEM_FIELDS,
  ...ALI_CCP_CROSS_FIELDS,
  ...ALI_CCP_CONTEXT_FIELDS,
  ...ALI_CCP_BEHAVIOUR_FIELDS,
];

/** Separator between the items of a multi-valued cell. */
export const ALI_CCP_ITEM_SEPARATOR = '|';
/** Separator between a feature id and its value inside one item. */
export const ALI_CCP_WEIGHT_SEPARATOR = ':';

/** Output column of a field: 'f' + field id ('101' -> 'f101', '109_14' -> 'f109_14'). */
export function aliCcpColumn(field: string): string {
  return plainColumnName(field);
}

/**
 * Schema of the converter's Parquet output: labels click and buy, single-valued fields as
 * categorical columns, behaviour and cross fields as multi-valued columns with weights.
 */
export function aliCcpSchema(): Schema {
  return {
    labels: { click: 'click', buy: 'buy' },
    categorical: ALI_CCP_SINGLE_FIELDS.map(aliCcpColumn),
    multi_valued: ALI_CCP_MULTI_FIELDS.map((field) => ({
      name: aliCcpColumn(field),
      separator: ALI_CCP_ITEM_SEPARATOR,
      weight_separator: ALI_CCP_WEIGHT_SEPARATOR,
    })),
  };
}
