import { readFileSync } from 'node:fs';
import { describeFailure } from './error-report.js';
import { builtinConfigNames } from '../api/load-config.js';
import { listPresets } from '../datasets/presets.js';
import { commandHelp, wrap, type CommandSpec } from './flags.js';
import { synthCommand, SYNTH_SPEC } from './commands/synth.js';
import { convertCommand, CONVERT_SPEC } from './commands/convert.js';
import { trainCommand, TRAIN_SPEC } from './commands/train.js';
import { predictCommand, PREDICT_SPEC } from './commands/predict.js';
import { evalCommand, EVAL_SPEC } from './commands/eval.js';
import { compareCommand, COMPARE_SPEC } from './commands/compare.js';
import { demoCommand, DEMO_SPEC } from './commands/demo.js';
import { exportCommand, EXPORT_SPEC } from './commands/export.js';
import { serveCommand, SERVE_SPEC } from './commands/serve.js';
import { reportCommand, REPORT_SPEC } from './commands/report.js';
import { tuneCommand, TUNE_SPEC } from './commands/tune.js';
import { launchCommand, LAUNCH_SPEC } from './commands/launch.js';

type Command = (argv: string[]) => Promise<number>;

/** Every command with its spec: the one source of `esmm --help` and `esmm help CMD`. */
const COMMANDS: Record<string, { run: Command; spec: CommandSpec }> = {
  train: { run: trainCommand, spec: TRAIN_SPEC },
  predict: { run: predictCommand, spec: PREDICT_SPEC },
  eval: { run: evalCommand, spec: EVAL_SPEC },
  compare: { run: compareCommand, spec: COMPARE_SPEC },
  tune: { run: tuneCommand, spec: TUNE_SPEC },
  launch: { run: launchCommand, spec: LAUNCH_SPEC },
  export: { run: exportCommand, spec: EXPORT_SPEC },
  serve: { run: serveCommand, spec: SERVE_SPEC },
  report: { run: reportCommand, spec: REPORT_SPEC },
  demo: { run: demoCommand, spec: DEMO_SPEC },
  synth: { run: synthCommand, spec: SYNTH_SPEC },
  convert: { run: convertCommand, spec: CONVERT_SPEC },
};

export function commandSpecs(): CommandSpec[] {
  return Object.values(COMMANDS).map((c) => c.spec);
}

/** The global usage: every command, the built-in configs and the dataset presets. */
export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
  return [
    'usage: esmm <command> [options]',
    '       esmm <command> --help     every option of a command, its default and an example',
    '       esmm --version',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.spec.summary}`),
    '',
    'built-in configs (--config NAME):',
    ...wrap(builtinConfigNames().join(', '), 2, 78).map((l, i) => (i === 0 ? `  ${l}` : l)),
    'dataset presets (--preset NAME):',
    ...presetLines(),
  ].join('\n');
}

/** One entry per preset: its name, then its description wrapped in a column after the longest name. */
function presetLines(): string[] {
  const presets = listPresets();
  const col = Math.max(...presets.map((p) => p.name.length)) + 4;
  return presets.flatMap((p) => wrap(p.description, col, 80 - col).map((l, i) => (i === 0 ? `  ${p.name.padEnd(col - 2)}${l}` : l)));
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** CLI entry: returns the exit code. Every failure prints one line (bugs: the stack with ESMM_DEBUG=1). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`esmm ${version()}\n`);
    return 0;
  }
  if (name === 'help' && rest[0] !== undefined && !rest[0].startsWith('-')) {
    const topic = COMMANDS[rest[0]];
    if (topic === undefined) {
      process.stderr.write(`esmm: unknown command '${rest[0]}'\n${usage()}\n`);
      return 2;
    }
    process.stdout.write(`${commandHelp(topic.spec)}\n`);
    return 0;
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`esmm: error: unknown command '${name}'; run 'esmm help' to list the commands\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    const failure = describeFailure(name, e);
    process.stderr.write(failure.text);
    return failure.code;
  }
}
