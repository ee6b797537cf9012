import { taskNames } from '../../data/task-names.js';
import { loadConfig } from '../../api/load-config.js';
import { compareModels } from '../../api/compare.js';
import { printTable } from '../../report/table.js';
import { log } from '../args.js';
import { secondsLine } from './compare.js';
import { formatEpochLine, showProgress, TrainTicker } from '../progress-line.js';
import { defineCommand, parseCommand } from '../flags.js';
import { MODEL_NAMES } from '../../models/registry.js';
import { configOverrides } from '../overrides.js';

export const DEMO_MODELS = ['esmm', 'esm2', 'naive_cvr', 'division'];

/**
 * esmm demo [--rows N] [--epochs N]: simulate a funnel whose true pCVR is known for every
 * impression, train ESMM, ESM2 and the papers' baselines on it, and print one table with
 * entire-space pCVR AUC against the simulator's truth.
 */
export const DEMO_SPEC = defineCommand({
  name: 'demo',
  summary: 'simulate a funnel with known truth, train ESMM, ESM2 and baselines, one table',
  usage: ['demo [--rows N] [--epochs N] [--models a,b,c]'],
  description:
    "Simulate a funnel whose true pCVR is known for every impression (the built-in 'demo' config), train ESMM, ESM2 and the papers' baselines on it, and print one table with entire-space pCVR AUC against the simulator's truth.",
  flags: {
    rows: { type: 'string', value: 'N', default: "the demo config's 1000000", help: 'impressions to simulate' },
    epochs: { type: 'string', value: 'N', default: "the demo config's 2", help: 'passes over the training data' },
    models: { type: 'string', value: 'a,b,c', default: DEMO_MODELS.join(','), help: `comma-separated models, of: ${MODEL_NAMES.join(', ')}` },
  },
  examples: ['demo --rows 100000 --epochs 1 --models esmm,esm2'],
});

export async function demoCommand(argv: string[]): Promise<number> {
  const values = parseCommand(DEMO_SPEC, argv)?.values;
  if (values === undefined) return 0;
  const config = loadConfig('demo', configOverrides('demo', values));
  const models = values.models?.split(',') ?? DEMO_MODELS;
  const t0 = performance.now();
  const ticker = new TrainTicker();
  const result = await compareModels(config, models, {
    log,
    onProgress: (p) => showProgress(ticker.line(p)),
    onEpoch: (r) => log(formatEpochLine(r, config.train.epochs, '  ', taskNames(config.schema))),
  });
  process.stdout.write(`\nSimulated funnel, ${config.data.synth?.rows ?? ''} impressions; metrics on the ${result.evaluatedOn} split.\n`);
  process.stdout.write('CVR AUC (entire space, truth) scores pCVR against the conversion each impression would have had if clicked.\n\n');
  process.stdout.write(`${printTable(result.metrics, taskNames(config.schema))}\n${secondsLine(result.seconds)}\n`);
  log(`demo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}
