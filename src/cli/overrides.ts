import { intFlag, numberFlag } from './args.js';
import type { FlagSpecs } from './flags.js';
import { builtinConfigNames } from '../api/load-config.js';

/**
 * Flags shared by the commands that train (train, compare): config, output and overrides. Each
 * declaration is both the parser's option and the help line (see flags.ts).
 */
export const TRAINING_FLAGS = {
  config: { type: 'string', value: 'FILE|NAME', default: 'required unless --preset', help: `a YAML/JSON config file, or a built-in config: ${builtinConfigNames().join(', ')}` },
  out: { type: 'string', value: 'DIR', default: 'runs/<model>', help: 'where the model, checkpoints and metrics.json are written' },
  epochs: { type: 'string', value: 'N', default: 'the config\'s train.epochs, else 1', help: 'passes over the training data' },
  'batch-size': { type: 'string', value: 'N', default: 'the config\'s train.batch_size, else 2048', help: 'rows per training step' },
  lr: { type: 'string', value: 'X', default: 'the config\'s train.learning_rate, else 0.001', help: 'learning rate of the dense optimizer' },
  seed: { type: 'string', value: 'S', default: 'the config\'s train.seed, else 1', help: 'random seed for initialisation and shuffling' },
  rows: { type: 'string', value: 'N', default: 'the config\'s data.synth.rows', help: 'impressions to simulate, for configs whose data is the simulator' },
  workers: { type: 'string', value: 'N', default: "the config's train.workers, else 1", help: 'data-parallel training threads, each with its own ORT session (same model as 1 worker)' },
  streaming: { type: 'boolean', help: 'stream the training files in bounded memory instead of loading every row (train.streaming)' },
  'memory-budget': { type: 'string', value: 'SIZE', default: "the config's train.memory_budget, else none", help: 'training data held at once, e.g. 2GB; with it, streaming switches on when the data would not fit' },
  quiet: { type: 'boolean', help: 'no progress line on stderr' },
  report: { type: 'string', value: 'FILE', default: 'no report', help: 'also write an HTML report (loss curves, ROC, calibration, funnel) to FILE' },
} as const satisfies FlagSpecs;

/** Config overrides from common CLI flags (--model, --epochs, --batch-size, --lr, --seed, --rows, --workers, --streaming, --memory-budget). */
export function configOverrides(command: string, v: { model?: string | undefined; epochs?: string | undefined; 'batch-size'?: string | undefined; lr?: string | undefined; seed?: string | undefined; rows?: string | undefined; workers?: string | undefined; streaming?: boolean | undefined; 'memory-budget'?: string | undefined }): Record<string, unknown> {
  const train: Record<string, unknown> = {};
  const epochs = intFlag(command, v.epochs, 'epochs');
  if (epochs !== undefined) train.epochs = epochs;
  const bs = intFlag(command, v['batch-size'], 'batch-size');
  if (bs !== undefined) train.batch_size = bs;
  const lr = numberFlag(command, v.lr, 'lr');
  if (lr !== undefined) train.learning_rate = lr;
  const seed = numberFlag(command, v.seed, 'seed');
  if (seed !== undefined) train.seed = seed;
  const workers = intFlag(command, v.workers, 'workers');
  if (workers !== undefined) train.workers = workers;
  if (v.streaming === true) train.streaming = true;
  // Checked (and its size parsed) with the config: a bad value names train.memory_budget.
  if (v['memory-budget'] !== undefined) train.memory_budget = v['memory-budget'];
  const out: Record<string, unknown> = {};
  if (Object.keys(train).length > 0) out.train = train;
  if (v.model !== undefined) out.model = { name: v.model };
  const rows = intFlag(command, v.rows, 'rows');
  if (rows !== undefined) out.data = { synth: { rows } };
  return out;
}
