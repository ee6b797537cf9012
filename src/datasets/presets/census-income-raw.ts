/**
 * `census-income-raw`: the original KDD Census-Income file (census-income.data / .test, or the
 * sample DeepCTR ships): no header, 42 comma-separated columns with a space after each comma,
 * text values (' Never married'), and the label ' - 50000.' or ' 50000+.' in the last column.
 * Columns 1-24 and 26-41 are the 40 columns of torch-rechub's CSV (see census-income.ts), column
 * 25 is the instance weight (a sampling weight, not a feature). Labels as in `census-income`:
 * click = income > 50K, buy = click AND never married; neither label column is a feature, and
 * the columns get the same plain names, so configs for both presets name fields alike.
 * A file to score may leave out the income column (41 columns).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Schema } from '../../data/schema.js';
import { incomeMaritalSchema } from './income-marital-schema.js';
import { UserError } from '../../errors.js';
import { plainColumnName } from '../column-names.js';
import { sqlIdent, sqlString } from '../sql-text.js';
import { CATEGORICAL, NUMERIC } from './census-income.js';
import { labelChecks, labelItems, notNumberCheck, numberSql, sourceColumn, trimmedTextSql } from './sql-parts.js';
import type { DatasetPreset } from './types.js';

const INCOME = 'income';
const MARITAL = 'marital status';
const WEIGHT = 'instance weight';

/** The 42 columns in file order. */
export const CENSUS_RAW_COLUMNS: readonly string[] = [
  'age', 'class of worker', 'industry code', 'occupation code', 'education', 'wage per hour',
  'enrolled in edu inst last wk', MARITAL, 'major industry code', 'major occupation code', 'race',
  'hispanic origin', 'sex', 'member of a labor union', 'reason for unemployment',
  'full or part time employment stat', 'capital gains', 'capital losses', 'divdends from stocks',
  'tax filer status', 'region of previous residence', 'state of previous residence',
  'detailed household and family stat', 'detailed household summary in household', WEIGHT,
  'migration code-change in msa', 'migration code-change in reg', 'migration code-move within reg',
  'live in this house 1 year ago', 'migration prev res in sunbelt', 'num persons worked for employer',
  'family members under 18', 'country of birth father', 'country of birth mother',
  'country of birth self', 'citizenship', 'own business or self employed',
  'fill inc questionnaire for veterans admin', 'veterans benefits', 'weeks worked in year', 'year', INCOME,
];

/** The fields of the first line (quotes are not used by this file). */
function firstLineFields(file: string): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return []; // reported by the caller
  }
  try {
    const buf = Buffer.alloc(16 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split('\n')[0]!.split(',');
  } finally {
    closeSync(fd);
  }
}

/** The column names of this file: 42, or 41 without the income label. */
function columnsOf(file: string): readonly string[] {
  const first = firstLineFields(file);
  if (first.length === 0) return CENSUS_RAW_COLUMNS;
  // The first field is the age: a number in a data row, a name in a header.
  const isData = /^\s*\d+(\.\d+)?\s*$/.test(first[0]!);
  if (isData && first.length === CENSUS_RAW_COLUMNS.length) return CENSUS_RAW_COLUMNS;
  if (isData && first.length === CENSUS_RAW_COLUMNS.length - 1) return CENSUS_RAW_COLUMNS.slice(0, -1);
  throw new UserError(
    `the 'census-income-raw' preset reads the header-less 42-column census-income file; the first line ` +
      (isData ? `has ${first.length} fields` : `is a header ('${first[0]!.trim()}', ...)`) +
      " (for torch-rechub's CSV with a header use --preset census-income)",
    { file, row: 1 },
  );
}

const INCOME_TEXT = (columns: Parameters<typeof sourceColumn>[0]): string => `trim(${sourceColumn(columns, INCOME)})`;

export const censusIncomeRawPreset: DatasetPreset = {
  name: 'census-income-raw',
  description: 'KDD census-income raw file (no header, 42 columns): click = income > 50K, buy = click AND never married',
  requiredColumns: [INCOME, MARITAL, ...CATEGORICAL, ...NUMERIC],
  labelColumns: [INCOME, MARITAL],
  checkFile: (file) => void columnsOf(file),
  source: (file) =>
    `read_csv(${sqlString(file)}, header = false, auto_detect = false, delim = ',', quote = '"', all_varchar = true, ` +
    `columns = {${columnsOf(file).map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ')}})`,
  projection: (columns, _file, labels) =>
    [
      ...labelItems(labels, () => {
        const click = `CASE ${INCOME_TEXT(columns)} WHEN '- 50000.' THEN 0 WHEN '50000+.' THEN 1 END`;
        const neverMarried = `CAST(trim(${sourceColumn(columns, MARITAL)}) = 'Never married' AS INTEGER)`;
        return [`${click} AS click`, `${click} * ${neverMarried} AS buy`];
      }),
      ...CATEGORICAL.map((c) => `${trimmedTextSql(sourceColumn(columns, c), '?')} AS ${sqlIdent(plainColumnName(c))}`),
      ...NUMERIC.map((c) => `${numberSql(sourceColumn(columns, c))} AS ${sqlIdent(plainColumnName(c))}`),
    ].join(', '),
  rowChecks: (columns, labels) => [
    ...labelChecks(labels, () => [
      { sql: `coalesce(${INCOME_TEXT(columns)} NOT IN ('- 50000.', '50000+.'), true)`, message: "the income column (42nd) must be '- 50000.' or '50000+.'" },
    ]),
    ...NUMERIC.map((c) => notNumberCheck(sourceColumn(columns, c), c)),
  ],
  schema: (): Schema => incomeMaritalSchema(CATEGORICAL, NUMERIC),
};
