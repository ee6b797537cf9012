import { describe, expect, it } from 'vitest';
import type { Schema } from '../../src/data/schema.js';
import { validateSchema } from '../../src/data/validate-schema.js';
import { UserError } from '../../src/errors.js';

const base: Schema = {
  labels: { click: 'click', buy: 'buy', actions: ['cart'] },
  categorical: ['user', 'item'],
  numeric: ['price'],
  truth: ['true_pctr'],
  group: 'user',
};

function errorOf(schema: Schema): UserError {
  try {
    validateSchema(schema);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

describe('validateSchema', () => {
  it('accepts a sound schema (group may also be a feature)', () => {
    expect(() => validateSchema(base)).not.toThrow();
  });

  it.each([
    ['categorical', { ...base, categorical: ['user', 'click'] }, 'click'],
    ['numeric', { ...base, numeric: ['buy'] }, 'buy'],
    ['multi-valued', { ...base, multi_valued: [{ name: 'cart', separator: '|' }] }, 'cart'],
  ])('refuses a label used as a %s feature (leakage)', (_kind, schema, column) => {
    const e = errorOf(schema as Schema);
    expect(e.message).toMatch(/label leakage/);
    expect(e.location.column).toBe(column);
  });

  it('refuses a truth column used as a feature', () => {
    const e = errorOf({ ...base, numeric: ['price', 'true_pctr'] });
    expect(e.message).toMatch(/truth column used as a feature/);
    expect(e.location).toMatchObject({ column: 'true_pctr', key: 'schema.numeric' });
  });

  it('refuses a column listed twice', () => {
    expect(errorOf({ ...base, categorical: ['user', 'item', 'user'] }).message).toMatch(/listed twice in schema.categorical/);
    expect(errorOf({ ...base, numeric: ['item'] }).message).toMatch(/listed both in schema.categorical and in schema.numeric/);
    expect(errorOf({ ...base, labels: { click: 'click', buy: 'click' } }).message).toMatch(/two different labels/);
  });

  it('refuses a label as the group column', () => {
    expect(errorOf({ ...base, group: 'buy' }).location.key).toBe('schema.group');
  });
});
