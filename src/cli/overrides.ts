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
  workers: { type: 'string' },
  quiet: { type: 'boolean' },
  report: { type: 'string' },
} as const;

/** Config overrides from common CLI flags (--model, --epochs, --batch-size, --lr, --seed, --rows, --workers). */
export function configOverrides(command: string, v: { model?: string | undefined; epochs?: string | undefined; 'batch-size'?: string | undefined; lr?: string | undefined; seed?: string | undefined; rows?: string | undefined; workers?: string | undefined }): Record<string, unknown> {
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
  const out: Record<string, unknown> = {};
  if (Object.keys(train).length > 0) out.train = train;
  if (v.model !== undefined) out.model = { name: v.model };
  const rows = intFlag(command, v.rows, 'rows');
  if (rows !== undefined) out.data = { synth: { rows } };
  return out;
}
