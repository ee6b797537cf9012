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
 * A known dataset layout: how to read the file, the SQL projection (if any) that derives plain
 * columns from it, and the Schema of the result. materializePreset applies the projection.
 */
export interface DatasetPreset {
  readonly name: string;
  readonly description: string;
  /** DuckDB table expression reading the input file, e.g. read_csv('f.csv', ...). */
  source(inputFile: string): string;
  /** Source columns the preset needs (compared after trimming spaces), for a clear error. */
  readonly requiredColumns?: readonly string[];
  /**
   * SELECT list over the source giving plain columns (labels click and buy, features); absent
   * when the file can be read as it is.
   */
  projection?(sourceColumns: readonly SourceColumn[], inputFile: string): string;
  /** Row rules checked while materialising (over the source columns). */
  rowChecks?(sourceColumns: readonly SourceColumn[]): RowCheck[];
  /** Schema of the materialised file, given its columns. */
  schema(columns: readonly SourceColumn[]): Schema;
}
