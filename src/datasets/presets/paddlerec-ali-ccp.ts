/**
 * `paddlerec-ali-ccp`: the Ali-CCP text format of PaddleRec's ESMM example. One sample per line,
 * whitespace-separated tokens: the click and buy labels (0/1), then `field:id` tokens, e.g.
 *   1 0 101:31 205:1408 206:112 109_14:553 109_14:4103 ...
 * Fields are the Ali-CCP field ids; a field given several times in a line is multi-valued.
 * Columns are named as the converter names them (f101, f109_14, ...). A file to score may leave
 * out the two label tokens: labels are the tokens without a ':'.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Schema } from '../../data/schema.js';
import { UserError } from '../../errors.js';
import { ALI_CCP_FIELDS, aliCcpColumn } from '../ali-ccp-fields.js';
import { sqlIdent, sqlString } from '../sql-text.js';
import { binaryLabelSql, labelChecks, labelItems } from './sql-parts.js';
import type { DatasetPreset } from './types.js';

const TOKENS = 'tokens';
/** Tokens without ':' are the labels (click, buy), in order. */
const LABEL_TOKENS = `list_filter(${TOKENS}, t -> strpos(t, ':') = 0)`;
const SEPARATOR = '|';

/** The ids of `field` in a line, joined with '|' (NULL when the line has none). */
function fieldSql(field: string): string {
  const tokens = `list_filter(${TOKENS}, t -> split_part(t, ':', 1) = ${sqlString(field)})`;
  return `nullif(array_to_string(list_transform(${tokens}, t -> substr(t, strpos(t, ':') + 1)), ${sqlString(SEPARATOR)}), '')`;
}

/** A text file (not Parquet, not CSV with a header): its first line must hold field:id tokens. */
function checkFirstLine(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return; // reported by the caller
  }
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const first = buf.subarray(0, n).toString('utf8').split('\n')[0]!.trim();
    if (first !== '' && !/^(\S+\s+)*\S+:\S+/.test(first)) {
      throw new UserError("the 'paddlerec-ali-ccp' preset reads lines of 'click buy field:id field:id ...' tokens; the first line has no field:id token", { file, row: 1 });
    }
  } finally {
    closeSync(fd);
  }
}

export const paddlerecAliCcpPreset: DatasetPreset = {
  name: 'paddlerec-ali-ccp',
  description: "PaddleRec Ali-CCP text: 'click buy field:id ...' per line, repeated fields multi-valued",
  requiredColumns: [TOKENS],
  checkFile: checkFirstLine,
  // One VARCHAR column per line (the delimiter is a control character that text lines never hold).
  source: (file) =>
    `(SELECT regexp_split_to_array(trim(line), '\\s+') AS ${TOKENS} FROM read_csv(${sqlString(file)}, header = false, auto_detect = false, ` +
    `delim = ${sqlString('\u0001')}, quote = '', escape = '', columns = {'line': 'VARCHAR'}) WHERE trim(line) <> '')`,
  projection: (_columns, _file, labels) =>
    [
      ...labelItems(labels, () => [`${binaryLabelSql(`${LABEL_TOKENS}[1]`)} AS click`, `${binaryLabelSql(`${LABEL_TOKENS}[2]`)} AS buy`]),
      ...ALI_CCP_FIELDS.map((f) => `${fieldSql(f)} AS ${sqlIdent(aliCcpColumn(f))}`),
    ].join(', '),
  rowChecks: (_columns, labels) =>
    labelChecks(labels, () => [
      { sql: `len(${LABEL_TOKENS}) <> 2`, message: "a line must start with the click and buy labels (two 0/1 tokens), then field:id tokens" },
      { sql: `coalesce(${LABEL_TOKENS}[1] NOT IN ('0', '1'), true)`, message: 'the click label (first token) must be 0 or 1' },
      { sql: `coalesce(${LABEL_TOKENS}[2] NOT IN ('0', '1'), true)`, message: 'the buy label (second token) must be 0 or 1' },
    ]),
  schema: async (_columns, query): Promise<Schema> => {
    const names = ALI_CCP_FIELDS.map(aliCcpColumn);
    // A field is multi-valued when some line gives it more than once.
    const counts = names.map((n) => `coalesce(max(len(string_split(${sqlIdent(n)}, ${sqlString(SEPARATOR)}))), 0)`);
    const row = (await query(`SELECT ${counts.join(', ')} FROM preset_data`))[0]!;
    const multi = names.filter((_, i) => Number(row[i]) > 1);
    return {
      labels: { click: 'click', buy: 'buy' },
      categorical: names.filter((n) => !multi.includes(n)),
      ...(multi.length > 0 ? { multi_valued: multi.map((name) => ({ name, separator: SEPARATOR })) } : {}),
      group: aliCcpColumn('101'),
    };
  },
};
