/**
 * Counting rows as DuckDB streams them, for progress reports. DuckDB's own progress estimate
 * follows whichever pipeline it last looked at (for a join, often the small build side), so it
 * cannot say how far a long COPY has got. A scalar function that counts the rows it sees can.
 */
import { open } from 'node:fs/promises';
import { BOOLEAN, DuckDBScalarFunction, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';

export interface RowCounter {
  /** SQL function name: `name(text)` is true for every non-NULL row and counts it. */
  readonly name: string;
  /** Rows counted since the last reset. */
  count(): number;
  reset(): void;
}

export function registerRowCounter(connection: DuckDBConnection, name: string): RowCounter {
  let rows = 0;
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name,
      returnType: BOOLEAN,
      parameterTypes: [VARCHAR],
      mainFunction: (_info, input, output) => {
        rows += input.rowCount;
        for (let i = 0; i < input.rowCount; i++) output.setItem(i, true);
        output.flush();
      },
    }),
  );
  return {
    name,
    count: () => rows,
    reset: () => {
      rows = 0;
    },
  };
}

/** Lines in a file, estimated from the line length over its first megabytes (for a percentage). */
export async function estimateLineCount(file: string, sampleBytes = 4 * 2 ** 20): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const buffer = Buffer.alloc(Math.min(size, sampleBytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    let lines = 0;
    for (let i = 0; i < bytesRead; i++) if (buffer[i] === 0x0a) lines++;
    if (bytesRead === size) return lines + (size > 0 && buffer[size - 1] !== 0x0a ? 1 : 0);
    return lines === 0 ? 1 : Math.round((size * lines) / bytesRead);
  } finally {
    await handle.close();
  }
}
