/**
 * Errors caused by the user's input (files, config, flags). The CLI prints these as one line and
 * exits non-zero, with no stack trace. Anything else is a bug and keeps its stack.
 */
export interface ErrorLocation {
  file?: string;
  /** 1-based data row (the header is row 0), as a user counts rows in a spreadsheet. */
  row?: number;
  column?: string;
  key?: string;
}

export class UserError extends Error {
  readonly location: ErrorLocation;
  constructor(message: string, location: ErrorLocation = {}) {
    super(formatMessage(message, location));
    this.name = 'UserError';
    this.location = location;
  }
}

function formatMessage(message: string, loc: ErrorLocation): string {
  const parts: string[] = [];
  if (loc.file !== undefined) parts.push(loc.file);
  if (loc.row !== undefined) parts.push(`row ${loc.row}`);
  if (loc.column !== undefined) parts.push(`column '${loc.column}'`);
  if (loc.key !== undefined) parts.push(`key '${loc.key}'`);
  return parts.length > 0 ? `${parts.join(', ')}: ${message}` : message;
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
