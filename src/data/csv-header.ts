/**
 * Reads the header record of a delimited text file ourselves, so DuckDB can be given the exact
 * column list (auto_detect off). With auto-detection on, a ragged file fails in DuckDB's sniffer
 * with a vague "could not detect the dialect" message instead of naming the bad row.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { UserError } from '../errors.js';

const BLOCK = 64 * 1024;
/** A header longer than this is certainly not a header. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** Column names from the first record of `file` (quotes '"' doubled to escape, RFC 4180). */
export function readCsvHeader(file: string, delimiter: string): string[] {
  const names = readFirstRecord(file, delimiter);
  const seen = new Set<string>();
  for (const name of names) {
    // A header-less file read as if it had one fails here first: say what is wrong.
    if ((name === '' || seen.has(name)) && looksLikeData(names)) throw headerLooksLikeData(file, names);
    if (name === '') throw new UserError('header has an empty column name', { file, row: 0 });
    if (seen.has(name)) throw new UserError('column appears twice in the header', { file, row: 0, column: name });
    seen.add(name);
  }
  return names;
}

/** The fields of the first record (the header, or the first data row of a header-less file). */
export function readFirstRecord(file: string, delimiter: string): string[] {
  const text = readFirstRecordText(file);
  if (text.trim() === '') throw new UserError('empty file: no header row', { file });
  return splitRecord(text, delimiter, file);
}

/**
 * Whether a header row looks like a data row: at least half of its fields are numbers or empty.
 * (Some real headers have numeric names, e.g. Ali-CCP's field ids, so callers use this only
 * once something else is already wrong.)
 */
export function looksLikeData(names: readonly string[]): boolean {
  const dataLike = names.filter((n) => n === '' || (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(n) && Number.isFinite(Number(n)))).length;
  return dataLike > 0 && dataLike * 2 >= names.length;
}

/** The error for a first row that looks like data where a header was expected. */
export function headerLooksLikeData(file: string, names: readonly string[]): UserError {
  const sample = names.slice(0, 4).map((n) => `'${n}'`).join(', ');
  return new UserError(
    `the first row looks like data, not a header (${sample}, ...): if the file has no header row, set data.header: false and list the column names in data.columns`,
    { file, key: 'data.header' },
  );
}

/** Text of the file up to the first newline outside quotes (BOM removed). */
function readFirstRecordText(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw new UserError('cannot open file', { file });
  }
  try {
    const parts: Buffer[] = [];
    let total = 0;
    let inQuotes = false;
    for (;;) {
      const buf = Buffer.alloc(BLOCK);
      const n = readSync(fd, buf, 0, BLOCK, total);
      if (n === 0) break;
      const block = buf.subarray(0, n);
      for (let i = 0; i < n; i++) {
        const c = block[i];
        if (c === 0x22) inQuotes = !inQuotes;
        else if (c === 0x0a && !inQuotes) {
          parts.push(block.subarray(0, i));
          return decode(Buffer.concat(parts));
        }
      }
      parts.push(block);
      total += n;
      if (total > MAX_HEADER_BYTES) throw new UserError('header row is implausibly long (no newline found)', { file });
    }
    return decode(Buffer.concat(parts));
  } finally {
    closeSync(fd);
  }
}

function decode(bytes: Buffer): string {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  return text;
}

/** Splits one record on `delimiter`, honouring double quotes. */
function splitRecord(text: string, delimiter: string, file: string): string[] {
  const fields: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
    } else if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (text.startsWith(delimiter, i)) {
      fields.push(field.trim());
      field = '';
      i += delimiter.length;
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw new UserError('unterminated quote in the header', { file, row: 0 });
  fields.push(field.trim());
  return fields;
}
