import { resolve } from 'node:path';
import { readConfigFile } from '../api/load-config.js';
import type { EsmmConfig } from '../config/types.js';
import { resolveTrainingConfig } from '../api/resolve-config.js';
import { UserError } from '../errors.js';
import { log } from './args.js';
import type { FlagSpecs } from './flags.js';
import { listPresets } from '../datasets/presets.js';
import { configOverrides } from './overrides.js';
import { runTempDir } from '../util/run-temp.js';

type Flags = Parameters<typeof configOverrides>[1] & { config?: string | undefined; preset?: string | undefined; train?: string | undefined; valid?: string | undefined; test?: string | undefined };

/**
 * The config of a training command: `--config FILE|NAME`, or `--preset NAME --train F [--valid F]
 * [--test F]` for the public datasets' formats (no schema to write), or both: the preset is the
 * starting schema and the config file overrides it. Plus the override flags.
 */
export async function trainingConfig(command: string, v: Flags): Promise<EsmmConfig> {
  const overrides = configOverrides(command, v);
  if (v.preset === undefined) {
    if (v.train !== undefined) throw new UserError(`--train needs --preset (or put data.train in the config)`);
    if (v.config === undefined) throw new UserError(`missing --config (or --preset NAME --train FILE)`);
    const { value, file, baseDir } = readConfigFile(v.config, overrides);
    return resolveTrainingConfig(value, file, baseDir, { log });
  }
  // Files named by flags are relative to the working directory (the config's, to its folder).
  const files: Record<string, string> = {};
  for (const split of ['train', 'valid', 'test'] as const) {
    const f = v[split];
    if (f !== undefined) files[split] = resolve(f);
  }
  if (v.config === undefined) {
    if (v.train === undefined) throw new UserError(`--preset needs --train FILE`);
    return resolveTrainingConfig({ ...overrides, data: files }, `preset:${v.preset}`, process.cwd(), { preset: v.preset, log });
  }
  const { value, file, baseDir } = readConfigFile(v.config, Object.keys(files).length > 0 ? { ...overrides, data: files } : overrides);
  return resolveTrainingConfig(value, file, baseDir, { preset: v.preset, log });
}

export const PRESET_FLAGS = {
  preset: { type: 'string', value: 'NAME', default: 'none', help: `read a public dataset's own format instead of a config (${listPresets().map((p) => p.name).join(', ')})` },
  train: { type: 'string', value: 'FILE', default: 'required with --preset', help: 'training file in the preset\'s format' },
  valid: { type: 'string', value: 'FILE', default: 'none', help: 'validation file in the preset\'s format (early stopping, per-epoch metrics)' },
  test: { type: 'string', value: 'FILE', default: 'none', help: 'test file in the preset\'s format (the final metrics)' },
} as const satisfies FlagSpecs;
