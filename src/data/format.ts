/**
 * Which file format a path holds, from its extension (overridable by the caller).
 */
import { UserError } from '../errors.js';

export type FileFormat = 'csv' | 'tsv' | 'jsonl' | 'parquet';

const BY_EXTENSION: Record<string, FileFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.parquet': 'parquet',
};

/** The format named by `file`'s extension; `override` wins when given. */
export function detectFormat(file: string, override?: FileFormat): FileFormat {
  if (override !== undefined) return override;
  const lower = file.toLowerCase();
  for (const [ext, format] of Object.entries(BY_EXTENSION)) {
    if (lower.endsWith(ext)) return format;
  }
  throw new UserError(
    `cannot tell the file format from the extension (expected one of ${Object.keys(BY_EXTENSION).join(' ')}); set data.format (csv, tsv, jsonl or parquet)`,
    { file },
  );
}

/** The default field delimiter of a delimited-text format. */
export function defaultDelimiter(format: FileFormat): string {
  return format === 'tsv' ? '\t' : ',';
}
