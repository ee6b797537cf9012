import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Obj } from '../config/check.js';
import type { EsmmConfig } from '../config/types.js';
import { preparePreset } from '../datasets/materialize-preset.js';
import { parseConfig } from './load-config.js';

/** The files of a run in a public dataset's own format (`--preset NAME --train F [--valid F] [--test F]`). */
export interface PresetFiles {
  train: string;
  valid?: string;
  test?: string;
}

/**
 * A training config for files in a preset's format (no schema to write): each file is projected
 * into a temporary folder by the preset, the preset gives the schema, `overrides` the rest (model,
 * train, ...). The config's source is `preset:NAME`, which readForModel uses to score new files.
 */
export async function presetConfig(preset: string, files: PresetFiles, overrides: Obj = {}, opts: { log?: (line: string) => void } = {}): Promise<EsmmConfig> {
  const tmp = mkdtempSync(join(tmpdir(), 'esmm-preset-'));
  opts.log?.(`preparing ${files.train} with the '${preset}' preset`);
  const train = await preparePreset(preset, files.train, tmp);
  const data: Record<string, string> = { train: train.file };
  for (const split of ['valid', 'test'] as const) {
    const f = files[split];
    if (f !== undefined) data[split] = (await preparePreset(preset, f, join(tmp, split))).file;
  }
  return parseConfig({ ...overrides, data, schema: train.schema }, `preset:${preset}`, process.cwd());
}
