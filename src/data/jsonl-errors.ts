/**
 * Finds the exact bad line of a JSON-lines file. Only called after DuckDB refused the file: its
 * reported line is where its parser noticed the problem, which for an unfinished object is the
 * next line, so we re-scan with JSON.parse to name the row the user must fix.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface BadJsonLine {
  /** 1-based line (= data row: JSON lines have no header). */
  row: number;
  message: string;
}

export async function findBadJsonLine(file: string): Promise<BadJsonLine | undefined> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let row = 0;
  try {
    for await (const line of lines) {
      row++;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        return { row, message: `malformed JSON (${e instanceof Error ? e.message : String(e)})` };
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return { row, message: 'each line must be one JSON object' };
      }
    }
  } finally {
    lines.close();
  }
  return undefined;
}
