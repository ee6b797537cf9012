/**
 * Checks that an input path names a readable regular file before any work starts, so a
 * directory or a missing file is one line naming the path (and the flag or config key that gave
 * it), not an EISDIR stack trace after minutes of training.
 */
import { statSync } from 'node:fs';
import { UserError, type ErrorLocation } from '../errors.js';

export function checkInputFile(path: string, what: string, where: Omit<ErrorLocation, 'file'> & { source?: string } = {}): void {
  const { source, ...loc } = where;
  const named = loc.key !== undefined ? `${path} (${source !== undefined ? `${source}, ` : ''}${loc.key.startsWith('--') ? loc.key : `key '${loc.key}'`})` : path;
  let isFile: boolean;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UserError(`${named}: is a directory, expected ${what}`);
    isFile = st.isFile() || st.isFIFO() || st.isCharacterDevice();
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as { code?: string }).code;
    throw new UserError(`${named}: ${code === 'EACCES' ? 'permission denied' : code === 'ENOTDIR' ? 'a parent of this path is not a directory' : 'file not found'} (expected ${what})`);
  }
  if (!isFile) throw new UserError(`${named}: not a regular file, expected ${what}`);
}
