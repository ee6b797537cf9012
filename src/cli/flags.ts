/**
 * One declaration per flag, used both to parse argv and to print `esmm CMD --help`, so the help
 * cannot drift from what a command accepts. Each command exports its CommandSpec; main.ts lists
 * them for the global usage and `esmm help CMD`.
 */
import { parseArgs } from 'node:util';
import { UserError } from '../errors.js';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  /** Placeholder for the value in help, e.g. FILE, DIR, N (string flags only). */
  readonly value?: string;
  /** The default as a user reads it ('200000', 'runs/<model>', 'required'); booleans default to off. */
  readonly default?: string;
  readonly help: string;
  readonly short?: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

export interface CommandSpec<F extends FlagSpecs = FlagSpecs> {
  readonly name: string;
  /** One line for the global usage. */
  readonly summary: string;
  /** Usage lines after `esmm `, e.g. 'train --config FILE|NAME [options]'. */
  readonly usage: readonly string[];
  /** A paragraph or two shown under the usage lines. */
  readonly description?: string;
  readonly flags: F;
  /** Positional arguments, documented like flags (name -> help). */
  readonly positionals?: Readonly<Record<string, string>>;
  /** At least one full command line, without the leading `esmm `. */
  readonly examples: readonly string[];
}

/** Parsed values: string flags give string | undefined, boolean flags boolean | undefined. */
export type FlagValues<F extends FlagSpecs> = { [K in keyof F]: (F[K]['type'] extends 'string' ? string : boolean) | undefined };

export interface Parsed<F extends FlagSpecs> {
  values: FlagValues<F>;
  positionals: string[];
}

const HELP_FLAG: FlagSpec = { type: 'boolean', short: 'h', help: 'print this help and exit' };

/** Declare a command; `const` keeps the flag names literal for FlagValues. */
export function defineCommand<const F extends FlagSpecs>(spec: CommandSpec<F>): CommandSpec<F> {
  if (spec.examples.length === 0) throw new Error(`command ${spec.name} needs an example`);
  return spec;
}

/**
 * Parse argv against the spec. Returns undefined after printing the help when -h/--help is given
 * (the caller exits 0); an unknown or malformed flag is a one-line UserError.
 */
export function parseCommand<F extends FlagSpecs>(spec: CommandSpec<F>, argv: string[], opts: { positionals?: boolean } = {}): Parsed<F> | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, flag] of Object.entries({ ...spec.flags, help: HELP_FLAG })) {
    options[name] = flag.short !== undefined ? { type: flag.type, short: flag.short } : { type: flag.type };
  }
  // Help wins over any other problem on the line: `esmm train --bogus --help` prints the help.
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${commandHelp(spec)}\n`);
    return undefined;
  }
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: opts.positionals ?? spec.positionals !== undefined, strict: true }) as typeof parsed;
  } catch (e) {
    throw new UserError(`${parseErrorLine(e as Error)} (see 'esmm ${spec.name} --help')`);
  }
  delete parsed.values.help;
  return { values: parsed.values as FlagValues<F>, positionals: parsed.positionals };
}

/** node's parseArgs messages are long and name a "positional argument" fix that does not apply. */
function parseErrorLine(e: Error): string {
  const first = e.message.split('\n')[0] ?? e.message;
  const unknown = /^Unknown option '([^']+)'/.exec(first);
  if (unknown !== null) return `unknown option '${unknown[1]}'`;
  const positional = /^Unexpected argument '([^']+)'/.exec(first);
  if (positional !== null) return `unexpected argument '${positional[1]}'`;
  const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(first);
  if (missing !== null) return `${missing[1]} needs a value`;
  return first.replace(/\. To specify a positional argument.*$/, '');
}

const WIDTH = 80;

/** Wrap `text` to WIDTH columns, continuation lines indented by `indent` spaces. */
export function wrap(text: string, indent: number, firstWidth = WIDTH): string[] {
  const lines: string[] = [];
  let line = '';
  let width = firstWidth;
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '';
      width = WIDTH - indent;
    }
    line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : `${' '.repeat(indent)}${l}`));
}

function flagLabel(name: string, flag: FlagSpec): string {
  const short = flag.short !== undefined ? `-${flag.short}, ` : '';
  return `${short}--${name}${flag.type === 'string' ? ` ${flag.value ?? 'VALUE'}` : ''}`;
}

/** The text of `esmm CMD --help`: usage, description, every flag with its default, examples. */
export function commandHelp(spec: CommandSpec): string {
  const out: string[] = [];
  spec.usage.forEach((u, i) => out.push(`${i === 0 ? 'usage: ' : '       '}esmm ${u}`));
  out.push('');
  for (const para of (spec.description ?? spec.summary).split('\n\n')) out.push(...wrap(para, 0), '');
  if (spec.positionals !== undefined) {
    out.push('arguments:');
    for (const [name, help] of Object.entries(spec.positionals)) out.push(...column(name, help));
    out.push('');
  }
  out.push('options:');
  for (const [name, flag] of Object.entries({ ...spec.flags, help: HELP_FLAG })) {
    const dflt = flag.type === 'boolean' ? (name === 'help' ? '' : ' (default: off)') : flag.default !== undefined ? ` (default: ${flag.default})` : '';
    out.push(...column(flagLabel(name, flag), `${flag.help}${dflt}`));
  }
  out.push('', spec.examples.length > 1 ? 'examples:' : 'example:');
  for (const e of spec.examples) out.push(`  esmm ${e}`);
  return out.join('\n');
}

const LABEL = 26;

/** `  LABEL  help` with the help wrapped in a column; a long label puts the help on the next line. */
function column(label: string, help: string): string[] {
  const head = `  ${label}`;
  if (head.length + 2 > LABEL) return [head, ...wrap(help, LABEL, WIDTH - LABEL).map((l, i) => (i === 0 ? `${' '.repeat(LABEL)}${l}` : l))];
  const [first = '', ...rest] = wrap(help, LABEL, WIDTH - LABEL);
  return [`${head.padEnd(LABEL)}${first}`, ...rest];
}
