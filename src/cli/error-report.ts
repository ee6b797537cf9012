/**
 * How the CLI reports a failure: always one line on stderr, `esmm CMD: error: ...`.
 * - A UserError (bad flag, file, row, config key) prints its message; exit 2.
 * - A Node system error about a path (EISDIR, ENOENT, EACCES, ...) that escaped a more specific
 *   check is still the user's file: one line naming the path; exit 2.
 * - Anything else is a bug: one line plus a hint to set ESMM_DEBUG=1 for the stack; exit 1.
 */
import { isUserError } from '../errors.js';

export interface CliFailure {
  /** What to print on stderr (ends with a newline). */
  text: string;
  code: number;
}

const SYSTEM_REASONS: Record<string, string> = {
  EISDIR: 'is a directory, expected a file',
  ENOTDIR: 'a parent of this path is not a directory',
  EEXIST: 'already exists (a file is in the way of a directory)',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
};

interface SystemError extends Error {
  code?: string;
  path?: string;
  syscall?: string;
}

/** `esmm train: ` in front of a message already carrying it would print the prefix twice. */
function stripPrefix(command: string, message: string): string {
  for (const p of [`esmm ${command}: error: `, `esmm ${command}: `, 'esmm: ']) {
    if (message.startsWith(p)) return message.slice(p.length);
  }
  return message;
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  return line.trim();
}

export function describeFailure(command: string, e: unknown, debug = process.env.ESMM_DEBUG !== undefined && process.env.ESMM_DEBUG !== '' && process.env.ESMM_DEBUG !== '0'): CliFailure {
  const prefix = command === '' ? 'esmm' : `esmm ${command}`;
  if (isUserError(e)) {
    const extra = debug && e.stack !== undefined ? `${e.stack}\n` : '';
    return { text: `${extra}${prefix}: error: ${firstLine(stripPrefix(command, e.message))}\n`, code: 2 };
  }
  const se = e as SystemError;
  if (se instanceof Error && typeof se.code === 'string' && typeof se.path === 'string' && SYSTEM_REASONS[se.code] !== undefined) {
    const extra = debug ? `${se.stack ?? ''}\n` : '';
    return { text: `${extra}${prefix}: error: ${se.path}: ${SYSTEM_REASONS[se.code]}\n`, code: 2 };
  }
  const message = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${firstLine(e.message)}` : firstLine(String(e));
  if (debug) return { text: `${e instanceof Error ? (e.stack ?? message) : message}\n${prefix}: internal error: ${message}\n`, code: 1 };
  return { text: `${prefix}: internal error: ${message} (this is a bug in esmm; set ESMM_DEBUG=1 to print the stack trace)\n`, code: 1 };
}

/**
 * A reader that stops early (`esmm eval ... | head -3`) closes our stdout: the next write fails
 * with EPIPE. Like other Unix tools, stop quietly instead of printing a stack trace.
 */
export function exitQuietlyOnClosedStdout(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: SystemError) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}
