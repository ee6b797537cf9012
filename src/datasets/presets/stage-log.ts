/**
 * `stage-log`: a generic AliExpress-style impression log with one `stage` column (0 impression,
 * 1 click, 2 conversion) and any other columns as features. click = stage >= 1, buy = stage >= 2.
 * Every other column is renamed to a plain identifier; floating-point and decimal columns become
 * numeric features, date and time columns are dropped, everything else (ids, text, integers,
 * booleans) becomes a categorical feature. A `user_id` column, when present, is also the group
 * for GAUC. Reads .csv, .tsv, .jsonl/.ndjson/.json and .parquet.
 */
import path from 'node:path';
import type { Schema } from '../../data/schema.js';
import { UserError } from '../../errors.js';
import { plainColumnNames } from '../column-names.js';
import { sqlIdent, sqlString } from '../sql-text.js';
import { isFloatingType, labelChecks, labelItems, sourceColumn } from './sql-parts.js';
import type { DatasetPreset, SourceColumn } from './types.js';

const STAGE = 'stage';
const GROUP = 'user_id';
const LABELS = ['click', 'buy'];

const stageSql = (columns: readonly SourceColumn[]): string => `TRY_CAST(${sourceColumn(columns, STAGE)} AS INTEGER)`;

const isTimeType = (type: string): boolean => /^(DATE|TIME|TIMESTAMP|INTERVAL)/i.test(type);

/** Feature columns of the source with their plain names. */
function featureColumns(columns: readonly SourceColumn[], file?: string): { source: SourceColumn; plain: string }[] {
  const kept = columns.filter((c) => c.name.trim() !== STAGE && !isTimeType(c.type));
  const plain = plainColumnNames(kept.map((c) => c.name), file);
  return kept.map((source, i) => {
    const name = plain[i]!;
    if (LABELS.includes(name)) {
      throw new UserError(`column '${source.name}' clashes with the '${name}' label derived from '${STAGE}'`, { file });
    }
    return { source, plain: name };
  });
}

export const stageLogPreset: DatasetPreset = {
  name: 'stage-log',
  description: "log with a 'stage' column (0 impression, 1 click, 2 conversion); other columns are features",
  requiredColumns: [STAGE],
  labelColumns: [STAGE],
  source: (file) => {
    const ext = path.extname(file).toLowerCase();
    if (ext === '.parquet') return `read_parquet(${sqlString(file)})`;
    if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return `read_json_auto(${sqlString(file)})`;
    if (ext === '.tsv') return `read_csv(${sqlString(file)}, header = true, delim = '\t')`;
    if (ext === '.csv') return `read_csv(${sqlString(file)}, header = true)`;
    throw new UserError('stage-log reads .csv, .tsv, .jsonl, .ndjson, .json or .parquet files', { file });
  },
  projection: (columns, file, labels) => {
    return [
      ...labelItems(labels, () => {
        // A stage other than 0, 1, 2 gives NULL labels, which the reader counts as bad.
        const stage = stageSql(columns);
        const valid = `${stage} IN (0, 1, 2)`;
        return [`CASE WHEN ${valid} THEN CAST(${stage} >= 1 AS INTEGER) END AS click`, `CASE WHEN ${valid} THEN CAST(${stage} >= 2 AS INTEGER) END AS buy`];
      }),
      ...featureColumns(columns, file).map(({ source, plain }) =>
        isFloatingType(source.type)
          ? `CAST(${sqlIdent(source.name)} AS DOUBLE) AS ${sqlIdent(plain)}`
          : `CAST(${sqlIdent(source.name)} AS VARCHAR) AS ${sqlIdent(plain)}`,
      ),
    ].join(', ');
  },
  rowChecks: (columns, labels) => labelChecks(labels, () => [{ sql: `coalesce(${stageSql(columns)} NOT IN (0, 1, 2), true)`, message: "column 'stage' must be 0, 1 or 2" }]),
  schema: (columns): Schema => {
    const features = columns.filter((c) => !LABELS.includes(c.name));
    const schema: Schema = {
      labels: { click: 'click', buy: 'buy' },
      categorical: features.filter((c) => !isFloatingType(c.type)).map((c) => c.name),
      numeric: features.filter((c) => isFloatingType(c.type)).map((c) => c.name),
    };
    if (features.some((c) => c.name === GROUP)) schema.group = GROUP;
    return schema;
  },
};
