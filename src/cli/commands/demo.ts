import { loadConfig } from '../../api/load-config.js';
import { compareModels } from '../../api/compare.js';
import { printTable } from '../../report/table.js';
import { log, parseFlags } from '../args.js';
import { configOverrides } from '../overrides.js';

export const DEMO_MODELS = ['esmm', 'esm2', 'naive_cvr', 'division'];

/**
 * esmm demo [--rows N] [--epochs N]: simulate a funnel whose true pCVR is known for every
 * impression, train ESMM, ESM2 and the papers' baselines on it, and print one table with
 * entire-space pCVR AUC against the simulator's truth.
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('demo', argv, { rows: { type: 'string' }, epochs: { type: 'string' }, models: { type: 'string' } });
  const config = loadConfig('demo', configOverrides('demo', values));
  const models = values.models?.split(',') ?? DEMO_MODELS;
  const t0 = performance.now();
  const result = await compareModels(config, models, {
    log,
    onEpoch: (r) => log(`  epoch ${r.epoch}: train loss ${r.train.loss?.toFixed(5)}, ${Math.round(r.samplesPerSecond)} samples/s`),
  });
  process.stdout.write(`\nSimulated funnel, ${config.data.synth?.rows ?? ''} impressions; metrics on the ${result.evaluatedOn} split.\n`);
  process.stdout.write('CVR AUC (entire space, truth) scores pCVR against the conversion each impression would have had if clicked.\n\n');
  process.stdout.write(`${printTable(result.metrics)}\n`);
  log(`demo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}
