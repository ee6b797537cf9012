/**
 * `census-income`: the KDD Census-Income sample as torch-rechub ships it (40 columns, already
 * encoded; `income` and `marital status` are the two 0/1 tasks, marital status 1 = never married).
 * Task 1 (income > 50K) takes the CTR position: click = income. Task 2 (never married) takes the
 * CVR position, so the entire-space label is their product: buy = income * marital status.
 * Neither label column is a feature. Columns are renamed to plain identifiers.
 */
import type { Schema } from '../../data/schema.js';
import { incomeMaritalSchema } from './income-marital-schema.js';
import { plainColumnName } from '../column-names.js';
import { sqlIdent, sqlString } from '../sql-text.js';
import { binaryLabelSql, labelChecks, labelItems, notBinaryCheck, notNumberCheck, numberSql, sourceColumn, trimmedTextSql } from './sql-parts.js';
import type { DatasetPreset } from './types.js';

/** Min-max scaled continuous columns (the rest are integer codes). */
export const NUMERIC = [
  'age',
  'wage per hour',
  'capital gains',
  'capital losses',
  'divdends from stocks',
  'num persons worked for employer',
  'weeks worked in year',
];

export const CATEGORICAL = [
  'class of worker',
  'industry code',
  'occupation code',
  'education',
  'enrolled in edu inst last wk',
  'major industry code',
  'major occupation code',
  'race',
  'hispanic origin',
  'sex',
  'member of a labor union',
  'reason for unemployment',
  'full or part time employment stat',
  'tax filer status',
  'region of previous residence',
  'state of previous residence',
  'detailed household and family stat',
  'detailed household summary in household',
  'migration code-change in msa',
  'migration code-change in reg',
  'migration code-move within reg',
  'live in this house 1 year ago',
  'migration prev res in sunbelt',
  'family members under 18',
  'country of birth father',
  'country of birth mother',
  'country of birth self',
  'citizenship',
  'own business or self employed',
  'fill inc questionnaire for veterans admin',
  'veterans benefits',
  'year',
];

const INCOME = 'income';
const NEVER_MARRIED = 'marital status';

export const censusIncomePreset: DatasetPreset = {
  name: 'census-income',
  description: 'KDD census-income (torch-rechub sample): click = income > 50K, buy = click * never married',
  requiredColumns: [INCOME, NEVER_MARRIED, ...CATEGORICAL, ...NUMERIC],
  labelColumns: [INCOME, NEVER_MARRIED],
  source: (file) => `read_csv(${sqlString(file)}, header = true, all_varchar = true)`,
  projection: (columns, _file, labels) => {
    return [
      ...labelItems(labels, () => {
        const income = binaryLabelSql(sourceColumn(columns, INCOME));
        const neverMarried = binaryLabelSql(sourceColumn(columns, NEVER_MARRIED));
        return [`${income} AS click`, `${income} * ${neverMarried} AS buy`];
      }),
      ...CATEGORICAL.map((c) => `${trimmedTextSql(sourceColumn(columns, c))} AS ${sqlIdent(plainColumnName(c))}`),
      ...NUMERIC.map((c) => `${numberSql(sourceColumn(columns, c))} AS ${sqlIdent(plainColumnName(c))}`),
    ].join(', ');
  },
  rowChecks: (columns, labels) => [
    ...labelChecks(labels, () => [notBinaryCheck(sourceColumn(columns, INCOME), INCOME), notBinaryCheck(sourceColumn(columns, NEVER_MARRIED), NEVER_MARRIED)]),
    ...NUMERIC.map((c) => notNumberCheck(sourceColumn(columns, c), c)),
  ],
  schema: (): Schema => incomeMaritalSchema(CATEGORICAL, NUMERIC),
};
