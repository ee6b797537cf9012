import { loadConfig } from '../api/load-config.js';
import { presetConfig } from '../api/preset-config.js';
import type { EsmmConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { log } from './args.js';
import { configOverrides } from './overrides.js';

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
  return presetConfig(v.preset, {
    train: v.train,
    ...(v.valid !== undefined ? { valid: v.valid } : {}),
    ...(v.test !== undefined ? { test: v.test } : {}),
  }, overrides, { log });
}

export const PRESET_FLAGS = {
  preset: { type: 'string' },
  train: { type: 'string' },
  valid: { type: 'string' },
  test: { type: 'string' },
} as const;
