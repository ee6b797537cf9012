import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RawChunk } from '../data/batch.js';
import type { Schema } from '../data/schema.js';
import type { DataConfig } from '../config/types.js';
import type { ReadStats } from '../data/reader.js';
import { readAllFiles } from '../data/file-glob.js';
import { writeSynth, type SynthConfigInput } from '../synth/index.js';

/** Raw rows of each split, with the reader's counts of skipped rows. */
export interface LoadedData {
  train: RawChunk;
  valid?: RawChunk;
  test?: RawChunk;
  stats: { train: ReadStats; valid?: ReadStats; test?: ReadStats };
  /** Where each split was read from. */
  files: { train: string; valid?: string; test?: string };
}

export interface LoadDataOptions {
  /** Folder relative paths are resolved against (the config file's folder). */
  baseDir?: string;
  /** Read label columns as optional (prediction files). */
  labelsOptional?: boolean;
  /** Report progress lines (e.g. to stderr). */
  log?: (line: string) => void;
}

/**
 * Read the train/valid/test files named by a config's `data:` block (or generate them with the
 * simulator when it says `synth:`), validating every row against the schema.
 */
export async function loadData(data: DataConfig, schema: Schema, opts: LoadDataOptions = {}): Promise<LoadedData> {
  const files = await dataFiles(data, opts);
  const read = (file: string): Promise<{ data: RawChunk; stats: ReadStats }> =>
    readAllFiles(file, {
      schema,
      ...(data.format !== undefined ? { format: data.format } : {}),
      ...(data.skip_invalid !== undefined ? { skipInvalid: data.skip_invalid } : {}),
      ...(data.header !== undefined ? { header: data.header } : {}),
      ...(data.columns !== undefined ? { columns: data.columns } : {}),
      ...(opts.labelsOptional === true ? { labelsOptional: true } : {}),
    });
  opts.log?.(`reading ${files.train}`);
  const train = await read(files.train);
  const out: LoadedData = { train: train.data, stats: { train: train.stats }, files };
  for (const split of ['valid', 'test'] as const) {
    const f = files[split];
    if (f === undefined) continue;
    opts.log?.(`reading ${f}`);
    const r = await read(f);
    out[split] = r.data;
    out.stats[split] = r.stats;
  }
  return out;
}

/**
 * The absolute paths (or globs) of the train/valid/test data a config names; simulated data is
 * written first (cached by its config).
 */
export async function dataFiles(data: DataConfig, opts: LoadDataOptions = {}): Promise<LoadedData['files']> {
  const base = opts.baseDir ?? process.cwd();
  const files: LoadedData['files'] = { train: '' };
  if (data.synth !== undefined) {
    const dir = await synthesize(data.synth as SynthConfigInput, opts.log);
    files.train = join(dir, 'train.csv');
    files.valid = join(dir, 'valid.csv');
    files.test = join(dir, 'test.csv');
  } else {
    files.train = resolve(base, data.train!);
    if (data.valid !== undefined) files.valid = resolve(base, data.valid);
    if (data.test !== undefined) files.test = resolve(base, data.test);
  }
  return files;
}

/** Simulated data is cached by its config, so repeated runs reuse the files. */
async function synthesize(cfg: SynthConfigInput, log?: (line: string) => void): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify(cfg)).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `esmm-synth-${key}`);
  if (!existsSync(join(dir, 'test.csv'))) {
    log?.(`simulating ${cfg.rows ?? 'default'} impressions into ${dir}`);
    await writeSynth(dir, cfg);
  }
  return dir;
}
