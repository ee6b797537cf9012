/**
 * `aliexpress`: the AliExpress CSV as torch-rechub and FuxiCTR ship it: categorical_1..16
 * (encoded ids), numerical_1..63, and the labels click and conversion (conversion -> buy).
 * Other columns (e.g. a search id) are ignored.
 */
import type { Schema } from '../../data/schema.js';
import { sqlIdent, sqlString } from '../sql-text.js';
import { binaryLabelSql, labelChecks, labelItems, notBinaryCheck, notNumberCheck, numberSql, sourceColumn, trimmedTextSql } from './sql-parts.js';
import type { DatasetPreset } from './types.js';

const CATEGORICAL = Array.from({ length: 16 }, (_, i) => `categorical_${i + 1}`);
const NUMERIC = Array.from({ length: 63 }, (_, i) => `numerical_${i + 1}`);

export const aliexpressPreset: DatasetPreset = {
  name: 'aliexpress',
  description: 'AliExpress CSV (torch-rechub / FuxiCTR): categorical_1..16, numerical_1..63, click, conversion',
  requiredColumns: ['click', 'conversion', ...CATEGORICAL, ...NUMERIC],
  labelColumns: ['click', 'conversion'],
  source: (file) => `read_csv(${sqlString(file)}, header = true, all_varchar = true)`,
  projection: (columns, _file, labels) =>
    [
      ...labelItems(labels, () => [
        `${binaryLabelSql(sourceColumn(columns, 'click'))} AS click`,
        `${binaryLabelSql(sourceColumn(columns, 'conversion'))} AS buy`,
      ]),
      ...CATEGORICAL.map((c) => `${trimmedTextSql(sourceColumn(columns, c))} AS ${sqlIdent(c)}`),
      ...NUMERIC.map((c) => `${numberSql(sourceColumn(columns, c))} AS ${sqlIdent(c)}`),
    ].join(', '),
  rowChecks: (columns, labels) => [
    ...labelChecks(labels, () => [notBinaryCheck(sourceColumn(columns, 'click'), 'click'), notBinaryCheck(sourceColumn(columns, 'conversion'), 'conversion')]),
    ...NUMERIC.map((c) => notNumberCheck(sourceColumn(columns, c), c)),
  ],
  schema: (): Schema => ({
    labels: { click: 'click', buy: 'buy' },
    categorical: [...CATEGORICAL],
    numeric: [...NUMERIC],
  }),
};
