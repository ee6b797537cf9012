/** Shared schema and helpers for the data-layer tests. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Schema } from '../../src/data/schema.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'data');

export const fixture = (name: string): string => join(FIXTURES, name);

/** The schema of the fixture files. */
export const SCHEMA: Schema = {
  labels: { click: 'click', buy: 'buy', actions: ['cart'] },
  categorical: ['user', 'item'],
  multi_valued: [{ name: 'tags', separator: '|', weight_separator: ':' }],
  numeric: ['price'],
  group: 'user',
  truth: ['true_pctr'],
};

export const HEADER = 'click,buy,cart,user,item,tags,price,true_pctr';

/** Writes `text` to a new file in a fresh temp dir and returns its path. */
export function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'esmm-data-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs `f` and returns the error it throws (fails the test if it does not throw). */
export async function errorOf(f: () => Promise<unknown>): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}
