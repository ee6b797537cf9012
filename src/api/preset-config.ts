import { resolve } from 'node:path';
import type { Obj } from '../config/check.js';
import type { EsmmConfig } from '../config/types.js';
import { resolveTrainingConfig } from './resolve-config.js';

/** The files of a run in a public dataset's own format (`--preset NAME --train F [--valid F] [--test F]`). */
export interface PresetFiles {
  train: string;
  valid?: string;
  test?: string;
}

/**
 * A training config for files in a preset's format (no schema to write): the library's form of
 * `esmm train --preset NAME --train F`. The preset gives the schema, `overrides` the rest (model,
 * train, and schema keys that override the preset's). The config's source is `preset:NAME`, which
 * readForModel uses to score new files the same way.
 */
export async function presetConfig(preset: string, files: PresetFiles, overrides: Obj = {}, opts: { log?: (line: string) => void } = {}): Promise<EsmmConfig> {
  const data: Record<string, string> = {};
  for (const split of ['train', 'valid', 'test'] as const) {
    const f = files[split];
    if (f !== undefined) data[split] = resolve(f);
  }
  return resolveTrainingConfig({ ...overrides, data }, `preset:${preset}`, process.cwd(), { preset, ...(opts.log !== undefined ? { log: opts.log } : {}) });
}
