/**
 * `ali-ccp-csv`: the preprocessed Ali-CCP CSV that public PyTorch tutorials ship (torch-rechub):
 * labels click, purchase; 23 categorical fields named by their Ali-CCP field ids, holding
 * integer ids; 8 numeric D* columns. Columns are renamed to the converter's names (f101, ...)
 * and purchase to buy, so configs for `ali-ccp` and `ali-ccp-csv` name fields alike.
 */
import type { Schema } from '../../data/schema.js';
import { ALI_CCP_FIELDS, aliCcpColumn } from '../ali-ccp-fields.js';
import { sqlIdent, sqlString } from '../sql-text.js';
import { binaryLabelSql, labelChecks, labelItems, notBinaryCheck, notNumberCheck, numberSql, sourceColumn, trimmedTextSql } from './sql-parts.js';
import type { DatasetPreset } from './types.js';

const NUMERIC = ['D109_14', 'D110_14', 'D127_14', 'D150_14', 'D508', 'D509', 'D702', 'D853'] as const;

export const aliCcpCsvPreset: DatasetPreset = {
  name: 'ali-ccp-csv',
  description: 'preprocessed Ali-CCP CSV (click, purchase, 23 field-id columns, 8 numeric D* columns)',
  requiredColumns: ['click', 'purchase', ...ALI_CCP_FIELDS, ...NUMERIC],
  labelColumns: ['click', 'purchase'],
  source: (file) => `read_csv(${sqlString(file)}, header = true, all_varchar = true)`,
  projection: (columns, _file, labels) =>
    [
      ...labelItems(labels, () => [
        `${binaryLabelSql(sourceColumn(columns, 'click'))} AS click`,
        `${binaryLabelSql(sourceColumn(columns, 'purchase'))} AS buy`,
      ]),
      ...ALI_CCP_FIELDS.map((f) => `${trimmedTextSql(sourceColumn(columns, f))} AS ${sqlIdent(aliCcpColumn(f))}`),
      ...NUMERIC.map((n) => `${numberSql(sourceColumn(columns, n))} AS ${sqlIdent(n)}`),
    ].join(', '),
  rowChecks: (columns, labels) => [
    ...labelChecks(labels, () => [notBinaryCheck(sourceColumn(columns, 'click'), 'click'), notBinaryCheck(sourceColumn(columns, 'purchase'), 'purchase')]),
    ...NUMERIC.map((n) => notNumberCheck(sourceColumn(columns, n), n)),
  ],
  schema: (): Schema => ({
    labels: { click: 'click', buy: 'buy' },
    categorical: ALI_CCP_FIELDS.map(aliCcpColumn),
    numeric: [...NUMERIC],
    // f101 is the user id: GAUC groups by it.
    group: aliCcpColumn('101'),
  }),
};
