/**
 * Flags that several commands declare alike (eval, export, predict, report, serve, compare),
 * written once so that their placeholder, default and help read the same in every `--help`.
 */
import type { FlagSpec } from './flags.js';

/** --model DIR: the saved model a command reads. */
export const MODEL_DIR_FLAG = { type: 'string', value: 'DIR', default: 'required', help: 'a model directory written by esmm train' } as const satisfies FlagSpec;

/** A FILE flag; `fallback` is the default as the help shows it ('required' unless given). */
export function fileFlag(help: string, fallback = 'required'): { readonly type: 'string'; readonly value: 'FILE'; readonly default: string; readonly help: string } {
  return { type: 'string', value: 'FILE', default: fallback, help };
}

/** --data FILE: rows read the way the model reads them; `what` says which rows (e.g. 'labelled rows'). */
export function dataFileFlag(what: string): ReturnType<typeof fileFlag> {
  return fileFlag(`${what} (CSV, TSV, JSONL or Parquet; a preset model reads its preset's format)`);
}

/** --json FILE: an optional JSON copy of what the command prints. */
export function jsonFileFlag(help: string): ReturnType<typeof fileFlag> {
  return fileFlag(help, 'none');
}
