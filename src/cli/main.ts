import { describeFailure } from './error-report.js';
import { synthCommand } from './commands/synth.js';
import { convertCommand } from './commands/convert.js';
import { trainCommand } from './commands/train.js';
import { predictCommand } from './commands/predict.js';
import { evalCommand } from './commands/eval.js';
import { compareCommand } from './commands/compare.js';
import { demoCommand } from './commands/demo.js';
import { exportCommand } from './commands/export.js';
import { serveCommand } from './commands/serve.js';
import { reportCommand } from './commands/report.js';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  train: { run: trainCommand, help: 'train --config FILE|NAME [--preset P --train F] [--out DIR]   train a model, write DIR/ and DIR/metrics.json' },
  predict: { run: predictCommand, help: 'predict --model DIR --data FILE --out FILE[.parquet] [--keep COL,COL]   pctr,pcvr,pctcvr per input row; no labels needed' },
  eval: { run: evalCommand, help: 'eval --model DIR --data FILE [--json FILE] [--skip-invalid]   AUC/GAUC/logloss per task, spaces named' },
  compare: { run: compareCommand, help: 'compare --config FILE --models a,b,c [--json FILE]   train each model, one table' },
  export: { run: exportCommand, help: 'export --model DIR --out model.onnx [--split-features]   one ONNX file over feature ids' },
  serve: { run: serveCommand, help: 'serve --model DIR [--port P] [--host H] [--max-body B]   HTTP scoring; SIGHUP reloads' },
  report: { run: reportCommand, help: 'report --model DIR [--compare FILE] [--data FILE] --out report.html   one HTML file' },
  demo: { run: demoCommand, help: 'demo                                           simulate a funnel and compare models on it' },
  synth: { run: synthCommand, help: 'synth --out DIR [--rows N] [--seed S]          write a simulated funnel with ground truth' },
  convert: { run: convertCommand, help: 'convert ali-ccp --skeleton F --common F --out F.parquet | convert events --input LOG --out DIR' },
};

export function usage(): string {
  return ['usage: esmm <command> [options]', '', ...Object.values(COMMANDS).map((c) => `  esmm ${c.help}`)].join('\n');
}

/** CLI entry: returns the exit code. Every failure prints one line (bugs: the stack with ESMM_DEBUG=1). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
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
