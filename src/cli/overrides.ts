import { intFlag, numberFlag } from './args.js';

/** Flags shared by the commands that train (train, compare): config, output and overrides. */
export const TRAINING_FLAGS = {
  config: { type: 'string' },
  out: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  rows: { type: 'string' },
  quiet: { type: 'boolean' },
  report: { type: 'string' },
  streaming: { type: 'boolean' },
  'memory-budget': { type: 'string' },
} as const;

/** Config overrides from common CLI flags (--model, --epochs, --batch-size, --lr, --seed, --rows). */
export function configOverrides(command: string, v: { model?: string | undefined; epochs?: string | undefined; 'batch-size'?: string | undefined; lr?: string | undefined; seed?: string | undefined; rows?: string | undefined; streaming?: boolean | undefined; 'memory-budget'?: string | undefined }): Record<string, unknown> {
  const train: Record<string, unknown> = {};
  const epochs = intFlag(command, v.epochs, 'epochs');
  if (epochs !== undefined) train.epochs = epochs;
  const bs = intFlag(command, v['batch-size'], 'batch-size');
  if (bs !== undefined) train.batch_size = bs;
  const lr = numberFlag(command, v.lr, 'lr');
  if (lr !== undefined) train.learning_rate = lr;
  const seed = numberFlag(command, v.seed, 'seed');
  if (seed !== undefined) train.seed = seed;
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
