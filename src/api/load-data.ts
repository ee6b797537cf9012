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
import { checkInputFile } from '../util/input-path.js';
import { isGlob } from '../data/file-glob.js';
import { DEFAULT_HOLDOUT, holdOut } from '../data/holdout.js';

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
  /** The config file the paths came from, named in errors. */
  source?: string;
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
  // One line per file when it is read: rows, time, rate, and the rows skipped with the reason.
  const timed = async (split: string, file: string): Promise<{ data: RawChunk; stats: ReadStats }> => {
    const t0 = performance.now();
    const r = await read(file);
    const s = (performance.now() - t0) / 1000;
    opts.log?.(`read ${split} ${file}: ${r.stats.kept.toLocaleString('en-US')} rows in ${s.toFixed(1)} s (${Math.round(r.stats.rows / Math.max(s, 1e-3)).toLocaleString('en-US')} rows/s)`);
    if (r.stats.skipped > 0) {
      const why = Object.entries(r.stats.skippedByReason).map(([k, n]) => `${k.replaceAll('_', ' ')}: ${n.toLocaleString('en-US')}`).join(', ');
      opts.log?.(`  skipped ${r.stats.skipped.toLocaleString('en-US')} of ${r.stats.rows.toLocaleString('en-US')} rows (${why}; data.skip_invalid is on)`);
    }
    return r;
  };
  const train = await timed('train', files.train);
  const out: LoadedData = { train: train.data, stats: { train: train.stats }, files };
  for (const split of ['valid', 'test'] as const) {
    const f = files[split];
    if (f === undefined) continue;
    const r = await timed(split, f);
    out[split] = r.data;
    out.stats[split] = r.stats;
  }
  if (files.valid === undefined && opts.labelsOptional !== true) {
    // No validation file: hold out a slice of the training rows (data.holdout) to validate on.
    const h = data.holdout ?? DEFAULT_HOLDOUT;
    const split = h.fraction > 0 ? holdOut(train.data, h) : undefined;
    if (split !== undefined) {
      out.train = split.train;
      out.valid = split.valid;
      files.valid = `${files.train} (held out: ${split.valid.rows} rows, ${h.time_column !== undefined ? `latest by ${h.time_column}` : `random, seed ${h.seed}`})`;
      opts.log?.(`no validation file: holding out ${split.valid.rows} of ${train.data.rows} training rows (${h.time_column !== undefined ? `latest by ${h.time_column}` : 'seeded random'}; data.holdout)`);
    }
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
    // Every split is checked before the first is read: a bad valid path fails in a second, not after
    // reading train. A glob is checked when it is expanded (an empty match names its key).
    for (const split of ['train', 'valid', 'test'] as const) {
      const f = files[split];
      if (f !== undefined && !isGlob(f)) checkInputFile(f, 'a data file', { key: `data.${split}`, ...(opts.source !== undefined ? { source: opts.source } : {}) });
    }
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
