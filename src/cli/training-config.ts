import { join } from 'node:path';
import { loadConfig, parseConfig } from '../config/load.js';
import type { EsmmConfig } from '../config/types.js';
import { preparePreset } from '../datasets/materialize-preset.js';
import { UserError } from '../errors.js';
import { log } from './args.js';
import { configOverrides } from './overrides.js';
import { runTempDir } from '../util/run-temp.js';

type Flags = Parameters<typeof configOverrides>[1] & { config?: string | undefined; preset?: string | undefined; train?: string | undefined; valid?: string | undefined; test?: string | undefined };

/**
 * The config of a training command: `--config FILE|NAME`, or `--preset NAME --train F [--valid F]
 * [--test F]` for the public datasets' formats (no schema to write), plus the override flags.
 */
export async function trainingConfig(command: string, v: Flags): Promise<EsmmConfig> {
  const overrides = configOverrides(command, v);
  if (v.preset === undefined) {
    if (v.train !== undefined) throw new UserError(`esmm ${command}: --train needs --preset (or put data.train in the config)`);
    if (v.config === undefined) throw new UserError(`esmm ${command}: missing --config (or --preset NAME --train FILE)`);
    return loadConfig(v.config, overrides);
  }
  if (v.config !== undefined) throw new UserError(`esmm ${command}: give --config or --preset, not both`);
  if (v.train === undefined) throw new UserError(`esmm ${command}: --preset needs --train FILE`);
  const tmp = runTempDir('preset');
  log(`preparing ${v.train} with the '${v.preset}' preset`);
  const train = await preparePreset(v.preset, v.train, tmp);
  const data: Record<string, string> = { train: train.file };
  for (const split of ['valid', 'test'] as const) {
    const f = v[split];
    if (f !== undefined) data[split] = (await preparePreset(v.preset, f, join(tmp, split))).file;
  }
  return parseConfig({ ...overrides, data, schema: train.schema }, `preset:${v.preset}`, process.cwd());
}

export const PRESET_FLAGS = {
  preset: { type: 'string' },
  train: { type: 'string' },
  valid: { type: 'string' },
  test: { type: 'string' },
} as const;
