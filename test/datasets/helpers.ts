import { expect } from 'vitest';
import { UserError } from '../../src/errors.js';

/** Await a promise that must reject with a UserError, and return that error. */
export async function expectUserError(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}
