import { UserError } from '../errors.js';

/**
 * Small structural checks for config objects. Every failure names the config source and the
 * dotted key path, e.g. `esmm.yaml, key 'model.tower[1]': expected a positive integer`.
 */
export type Obj = Record<string, unknown>;

export class ConfigChecker {
  constructor(readonly source: string) {}

  fail(key: string, message: string): never {
    throw new UserError(message, { file: this.source, key });
  }

  object(value: unknown, key: string): Obj {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.fail(key, `expected a mapping, got ${describe(value)}`);
    }
    return value as Obj;
  }

  /** Refuse keys not in `allowed` (typos silently ignored are how losses go missing). */
  onlyKeys(obj: Obj, key: string, allowed: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) {
        const where = key === '' ? k : `${key}.${k}`;
        this.fail(where, `unknown key; allowed here: ${allowed.join(', ')}`);
      }
    }
  }

  string(value: unknown, key: string): string {
    if (typeof value !== 'string' || value === '') this.fail(key, `expected a non-empty string, got ${describe(value)}`);
    return value;
  }

  oneOf<T extends string>(value: unknown, key: string, options: readonly T[]): T {
    if (typeof value !== 'string' || !options.includes(value as T)) {
      this.fail(key, `expected one of ${options.join(', ')}, got ${describe(value)}`);
    }
    return value as T;
  }

  number(value: unknown, key: string, opts: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(key, `expected a number, got ${describe(value)}`);
    if (opts.integer === true && !Number.isInteger(value)) this.fail(key, `expected an integer, got ${value}`);
    // Integers past 2^53 are not exact in JavaScript (a 20-digit seed is silently rounded).
    if (opts.integer === true && !Number.isSafeInteger(value)) this.fail(key, `expected an integer of at most 15 digits, got ${value}`);
    if (opts.min !== undefined && (opts.exclusiveMin === true ? value <= opts.min : value < opts.min)) {
      this.fail(key, `expected a value ${opts.exclusiveMin === true ? '>' : '>='} ${opts.min}, got ${value}`);
    }
    if (opts.max !== undefined && value > opts.max) this.fail(key, `expected a value <= ${opts.max}, got ${value}`);
    return value;
  }

  /** A random seed: an integer in 0..2^32-1 (what the generators use; larger seeds overflow derived table seeds). */
  seed(value: unknown, key: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SEED) {
      this.fail(key, `expected an integer seed in 0..${MAX_SEED}, got ${typeof value === 'number' ? String(value) : describe(value)}`);
    }
    return value;
  }

  positiveInt(value: unknown, key: string): number {
    return this.number(value, key, { min: 1, integer: true });
  }

  boolean(value: unknown, key: string): boolean {
    if (typeof value !== 'boolean') this.fail(key, `expected true or false, got ${describe(value)}`);
    return value;
  }

  stringList(value: unknown, key: string): string[] {
    if (!Array.isArray(value)) this.fail(key, `expected a list of strings, got ${describe(value)}`);
    return value.map((v, i) => this.string(v, `${key}[${i}]`));
  }

  intList(value: unknown, key: string): number[] {
    if (!Array.isArray(value)) this.fail(key, `expected a list of positive integers, got ${describe(value)}`);
    return value.map((v, i) => this.positiveInt(v, `${key}[${i}]`));
  }
}

export const MAX_SEED = 4294967295;

/**
 * Upper bounds of training numbers, refused at config time (before any data is read): a value
 * past them is a typo or an overflow, never a setting that trains.
 */
export const TRAIN_LIMITS = {
  learning_rate: 10,
  embedding_learning_rate: 10,
  weight_decay: 1,
  clip_norm: 1e6,
  epochs: 1_000_000,
  batch_size: 1 << 24,
} as const;

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}
