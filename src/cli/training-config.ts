import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../config/load.js';
import type { EsmmConfig } from '../config/types.js';
import { preparePreset } from '../datasets/materialize-preset.js';
import { UserError } from '../errors.js';
import { log } from './args.js';
import type { FlagSpecs } from './flags.js';
import { listPresets } from '../datasets/presets.js';
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
  const tmp = mkdtempSync(join(tmpdir(), 'esmm-preset-'));
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
  preset: { type: 'string', value: 'NAME', default: 'none', help: `read a public dataset's own format instead of a config (${listPresets().map((p) => p.name).join(', ')})` },
  train: { type: 'string', value: 'FILE', default: 'required with --preset', help: 'training file in the preset\'s format' },
  valid: { type: 'string', value: 'FILE', default: 'none', help: 'validation file in the preset\'s format (early stopping, per-epoch metrics)' },
  test: { type: 'string', value: 'FILE', default: 'none', help: 'test file in the preset\'s format (the final metrics)' },
} as const satisfies FlagSpecs;
