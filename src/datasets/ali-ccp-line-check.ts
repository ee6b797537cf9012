/**
 * Line-level validation of the raw Ali-CCP files, shared by the SQL conversion (which raises
 * on the first bad row but cannot say which line it was) and the TypeScript scan that runs only
 * after a failure to name the file and line.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** Which raw file a line comes from. */
export type AliCcpFileKind = 'skeleton' | 'common';

/**
 * One feature: `field_id \x02 feature_id \x03 value`. Field and feature ids may not contain the
 * separators; the feature id may not contain ':' or '|' either, because the converter writes
 * multi-valued cells as `id:value|id:value`. The value must be a decimal number. The same text is
 * a JavaScript and an RE2 (DuckDB) pattern, so both sides apply the same rule.
 */
export const ALI_CCP_FEATURE_PATTERN =
  '[^\\x01\\x02\\x03,]+\\x02[^\\x01\\x02\\x03:|,]+\\x03[-+]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?';

const FEATURE = new RegExp(`^${ALI_CCP_FEATURE_PATTERN}$`);
const COUNT = /^[0-9]+$/;

/** Number of comma-separated fields in a line of each file. */
export const ALI_CCP_FIELD_COUNT: Record<AliCcpFileKind, number> = { skeleton: 6, common: 3 };

/** Why a line is malformed, or null when it is well-formed. Blank lines are skipped, not checked. */
export function checkAliCcpLine(kind: AliCcpFileKind, line: string): string | null {
  const parts = line.split(',');
  const expected = ALI_CCP_FIELD_COUNT[kind];
  if (parts.length !== expected) {
    return `expected ${expected} comma-separated fields, found ${parts.length}`;
  }
  let featureNum: string;
  let featureList: string;
  if (kind === 'skeleton') {
    const [, click, buy, , num, list] = parts as [string, string, string, string, string, string];
    if (click !== '0' && click !== '1') return `click must be 0 or 1, got '${click}'`;
    if (buy !== '0' && buy !== '1') return `buy must be 0 or 1, got '${buy}'`;
    featureNum = num;
    featureList = list;
  } else {
    const [index, num, list] = parts as [string, string, string];
    if (index === '') return 'empty common_feature_index';
    featureNum = num;
    featureList = list;
  }
  if (!COUNT.test(featureNum)) return `feature_num must be a count, got '${featureNum}'`;
  if (featureList === '') return null;
  const features = featureList.split('\x01');
  for (let i = 0; i < features.length; i++) {
    if (!FEATURE.test(features[i]!)) {
      return `feature ${i + 1} is not field\\x02id\\x03value: '${printable(features[i]!)}'`;
    }
  }
  return null;
}

/** The first malformed line of a raw file (1-based line number), or null if all are fine. */
export async function findFirstMalformedLine(
  kind: AliCcpFileKind,
  file: string,
): Promise<{ line: number; reason: string } | null> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line === '') continue;
      const reason = checkAliCcpLine(kind, line);
      if (reason !== null) return { line: lineNumber, reason };
    }
  } finally {
    lines.close();
  }
  return null;
}

/** Shows the control separators as \x01.. so an error message stays on one line. */
function printable(text: string): string {
  const shown = text.replace(/[\x00-\x1f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}
