import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors.js';
import { clearProgress } from './progress-line.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with our error style: an unknown or malformed flag is a one-line UserError. */
export function parseFlags<O extends Options>(command: string, argv: string[], options: O): ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UserError(`${(e as Error).message.split('\n')[0]}`);
  }
}

export function requireFlag(command: string, value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UserError(`missing --${flag}`);
  return value;
}

export function intFlag(command: string, value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`--${flag} expects a positive integer, got '${value}'`);
  return n;
}

export function numberFlag(command: string, value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UserError(`--${flag} expects a number, got '${value}'`);
  return n;
}

/** Progress and notices go to stderr so stdout stays machine-readable. */
export function log(line: string): void {
  clearProgress();
  process.stderr.write(`${line}\n`);
}
