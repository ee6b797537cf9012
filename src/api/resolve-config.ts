/**
 * Turns a config whose schema starts from a dataset preset or uses column patterns into an
 * ordinary EsmmConfig: the preset is applied to the data files (materializePreset), its schema
 * is the starting point, the config's schema keys override it, and patterns are resolved
 * against the columns of the training file. Configs without any of this are parsed as they are.
 *
 *   schema: { preset: ali-ccp-csv, exclude: [f301] }          # YAML
 *   esmm train --preset aliexpress --config overrides.yaml    # CLI: the same, preset from the flag
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from './load-config.js';
import type { EsmmConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { fileColumns } from '../datasets/file-columns.js';
import { expandFiles } from '../data/file-glob.js';
import { preparePreset } from '../datasets/materialize-preset.js';
import { getPreset, listPresets } from '../datasets/presets.js';
import { applySchemaSpec, needsColumns } from '../datasets/schema-patterns.js';

type Obj = Record<string, unknown>;

export interface ResolveOptions {
  /** A preset chosen outside the config (--preset); must agree with schema.preset when both are set. */
  preset?: string;
  log?: (line: string) => void;
}

const SPLITS = ['train', 'valid', 'test'] as const;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Where the preset's output for these inputs goes: the same folder for the same inputs (path,
 * size, modification time), so a run resumed with --resume reads the same files as the run that
 * wrote the checkpoint (the checkpoint's data fingerprint names them).
 */
function preparedDir(preset: string, labels: string, inputs: string[]): string {
  const key = createHash('sha256');
  key.update(JSON.stringify([preset, labels]));
  for (const f of inputs) {
    const info = statSync(f, { throwIfNoEntry: false });
    key.update(JSON.stringify([f, info?.size, info?.mtimeMs]));
  }
  return join(tmpdir(), `esmm-preset-${key.digest('hex').slice(0, 16)}`);
}

export async function resolveTrainingConfig(value: unknown, source: string, baseDir: string, opts: ResolveOptions = {}): Promise<EsmmConfig> {
  if (!isObj(value)) return parseConfig(value, source, baseDir);
  let spec: Obj | undefined;
  if (typeof value.schema === 'string' && listPresets().some((p) => p.name === value.schema)) spec = { preset: value.schema };
  else if (isObj(value.schema)) spec = value.schema;
  else if (value.schema !== undefined && opts.preset === undefined) return parseConfig(value, source, baseDir);

  let preset = opts.preset;
  if (spec?.preset !== undefined) {
    if (typeof spec.preset !== 'string') throw new UserError('expected a preset name', { file: source, key: 'schema.preset' });
    if (preset !== undefined && preset !== spec.preset) {
      throw new UserError(`--preset ${preset} and schema.preset ${spec.preset} disagree; give one`, { file: source, key: 'schema.preset' });
    }
    preset = spec.preset;
  }
  spec ??= {};
  if (preset === undefined && !needsColumns(spec)) return parseConfig(value, source, baseDir);

  const data: Obj = isObj(value.data) ? { ...value.data } : {};
  if (typeof data.train !== 'string' || data.train === '') {
    throw new UserError(preset !== undefined ? `the '${preset}' preset needs a training file (data.train, or --train)` : 'schema patterns need a training file to match', {
      file: source,
      key: 'data.train',
    });
  }
  let columns: string[];
  let base;
  if (preset !== undefined) {
    getPreset(preset); // an unknown name fails before any file is read
    for (const k of ['format', 'header', 'columns'] as const) {
      if (data[k] !== undefined) throw new UserError(`the '${preset}' preset reads its own file layout; remove data.${k}`, { file: source, key: `data.${k}` });
    }
    const labels = data.skip_invalid === true ? 'lenient' : 'checked';
    const tmp = preparedDir(preset, labels, SPLITS.map((k) => data[k]).filter((f): f is string => typeof f === 'string').map((f) => resolve(baseDir, f)));
    for (const split of SPLITS) {
      const f = data[split];
      if (typeof f !== 'string') continue;
      const input = resolve(baseDir, f);
      opts.log?.(`preparing ${input} with the '${preset}' preset`);
      const prepared = await preparePreset(preset, input, join(tmp, split), labels);
      data[split] = prepared.file;
      if (split === 'train') base = prepared.schema;
    }
    columns = await fileColumns(data.train as string, { format: 'parquet' });
  } else {
    // A glob (days/*.parquet): patterns are matched against its first file's columns.
    const train = (await expandFiles(resolve(baseDir, data.train)))[0]!;
    columns = await fileColumns(train, {
      ...(typeof data.format === 'string' ? { format: data.format as 'csv' } : {}),
      ...(data.header === false ? { header: false } : {}),
      ...(Array.isArray(data.columns) ? { columns: data.columns as string[] } : {}),
    });
  }
  const schema = applySchemaSpec(spec, base, columns, { source, file: preset !== undefined ? `the '${preset}' preset's columns` : resolve(baseDir, data.train as string) });
  const config = parseConfig({ ...value, data, schema }, source, baseDir);
  if (preset !== undefined) config.preset = preset;
  return config;
}
