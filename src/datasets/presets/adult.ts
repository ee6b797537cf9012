/**
 * `adult`: the full UCI Adult set (adult.data / adult.test with a header line; ', ' separated,
 * '?' missing, label Y '<=50K' or '>50K', with a trailing period in adult.test).
 * click = income > 50K; buy = click AND marital-status = Never-married, i.e. task 2 sits in the
 * CVR position and buy is the product of the two tasks. marital-status is therefore not a
 * feature (it would leak the label); `relationship` stays, as an ordinary correlated feature.
 */
import type { Schema } from '../../data/schema.js';
import { incomeMaritalSchema } from './income-marital-schema.js';
import { plainColumnName } from '../column-names.js';
import { sqlIdent, sqlString } from '../sql-text.js';
import { labelChecks, labelItems, notNumberCheck, numberSql, sourceColumn, trimmedTextSql } from './sql-parts.js';
import type { DatasetPreset, SourceColumn } from './types.js';

const NUMERIC = ['age', 'fnlwgt', 'education-num', 'capital-gain', 'capital-loss', 'hours-per-week'];
const CATEGORICAL = ['workclass', 'education', 'occupation', 'relationship', 'race', 'sex', 'native-country'];
const MARITAL = 'marital-status';
const LABEL = 'Y';

/** The income label without adult.test's trailing period. */
const incomeSql = (columns: readonly SourceColumn[]): string => `rtrim(trim(${sourceColumn(columns, LABEL)}), '.')`;

export const adultPreset: DatasetPreset = {
  name: 'adult',
  description: 'UCI Adult: click = income > 50K, buy = click AND never married (marital-status is not a feature)',
  requiredColumns: [...NUMERIC, ...CATEGORICAL, MARITAL, LABEL],
  labelColumns: [MARITAL, LABEL],
  source: (file) => `read_csv(${sqlString(file)}, delim = ',', header = true, all_varchar = true)`,
  projection: (columns, _file, labels) => {
    return [
      ...labelItems(labels, () => {
        // A label other than <=50K / >50K is NULL, which the reader counts as a bad label.
        const valid = `${incomeSql(columns)} IN ('<=50K', '>50K')`;
        const click = `(${incomeSql(columns)} = '>50K')`;
        const neverMarried = `(trim(${sourceColumn(columns, MARITAL)}) = 'Never-married')`;
        return [`CASE WHEN ${valid} THEN CAST(${click} AS INTEGER) END AS click`, `CASE WHEN ${valid} THEN CAST(${click} AND ${neverMarried} AS INTEGER) END AS buy`];
      }),
      ...CATEGORICAL.map((c) => `${trimmedTextSql(sourceColumn(columns, c), '?')} AS ${sqlIdent(plainColumnName(c))}`),
      ...NUMERIC.map((c) => `${numberSql(sourceColumn(columns, c))} AS ${sqlIdent(plainColumnName(c))}`),
    ].join(', ');
  },
  rowChecks: (columns, labels) => [
    ...labelChecks(labels, () => [{ sql: `coalesce(${incomeSql(columns)} NOT IN ('<=50K', '>50K'), true)`, message: "column 'Y' must be <=50K or >50K" }]),
    ...NUMERIC.map((c) => notNumberCheck(sourceColumn(columns, c), c)),
  ],
  schema: (): Schema => incomeMaritalSchema(CATEGORICAL, NUMERIC),
};
