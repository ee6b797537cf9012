import type { Schema } from '../../data/schema.js';

/** A column of a file as DuckDB describes it. */
export interface SourceColumn {
  name: string;
  /** DuckDB type name: VARCHAR, DOUBLE, BIGINT, DECIMAL(18,3), ... */
  type: string;
}

/** A rule every row must satisfy: `sql` is true for a bad row. */
export interface RowCheck {
  sql: string;
  message: string;
}

/**
 * How labels are handled while a preset is applied:
 * - 'checked': label columns are required and a bad label stops with the file and row (train, eval);
 * - 'lenient': label columns are required, a bad label becomes NULL so the reader counts and skips
 *   the row (`data.skip_invalid`);
 * - 'none': label columns are neither required nor read (predict: scoring never needs labels).
 */
export type LabelMode = 'checked' | 'lenient' | 'none';

/** Runs a query against the materialised file (registered as the view `preset_data`). */
export type PresetQuery = (sql: string) => Promise<unknown[][]>;

/**
 * A known dataset layout: how to read the file, the SQL projection (if any) that derives plain
 * columns from it, and the Schema of the result. materializePreset applies the projection.
 */
export interface DatasetPreset {
  readonly name: string;
  readonly description: string;
  /** DuckDB table expression reading the input file, e.g. read_csv('f.csv', ...). */
  source(inputFile: string): string;
  /** Refuses a file the preset cannot read, with a line saying what it wants (before DuckDB's own error). */
  checkFile?(inputFile: string): void;
  /** Source columns the preset needs (compared after trimming spaces), for a clear error. */
  readonly requiredColumns?: readonly string[];
  /** The subset of requiredColumns that only feed the labels: not needed to score a file. */
  readonly labelColumns?: readonly string[];
  /**
   * SELECT list over the source giving plain columns (labels click and buy, features); absent
   * when the file can be read as it is. With labels 'none' the click and buy columns are left out
   * (the reader then reads them as 0); with 'lenient' a bad label is NULL instead of an error.
   */
  projection?(sourceColumns: readonly SourceColumn[], inputFile: string, labels: LabelMode): string;
  /** Row rules checked while materialising (over the source columns); label rules only when labels is 'checked'. */
  rowChecks?(sourceColumns: readonly SourceColumn[], labels: LabelMode): RowCheck[];
  /** Schema of the materialised file, given its columns (and a query over its rows when the layout depends on them). */
  schema(columns: readonly SourceColumn[], query: PresetQuery): Schema | Promise<Schema>;
}
