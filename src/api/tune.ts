/**
 * Hyper-parameter search (issue 13 item 7): learning rates, embedding L2, dropout, embedding
 * dimension, tower sizes and epochs, scored on the validation split's CTCVR logloss. The data is
 * read and the features fitted once; every trial trains on the same encoded rows.
 *
 * Strategies: random search (every trial at full fidelity), or successive halving (Jamieson &
 * Talwalkar 2016): all configs first train on a slice of the training rows for one epoch, the
 * better half go on to a larger slice, and the survivors of the last rung train at full fidelity.
 * The winner is the best full-fidelity trial (the best of the highest rung reached when none
 * finished). No trial is started whose estimated end (its rows x epochs x the measured seconds
 * per row-epoch) is past the wall-clock budget, and when the rungs left would not fit, the best
 * configs so far skip to full size.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import type { EsmmConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { evaluatePredictions } from '../eval/evaluate.js';
import { sliceEncoded } from '../features/encoded-rows.js';
import { Rng } from '../util/random.js';
import { writeFileAtomic } from '../util/atomic.js';
import { checkOutputDir, checkOutputFile } from '../util/output-path.js';
import { DEFAULT_HOLDOUT } from '../data/holdout.js';
import { ConfigChecker } from '../config/check.js';
import { loadData, type LoadedData } from './load-data.js';
import { prepareLogged } from './pipeline.js';
import { guardLeakage } from '../features/leakage-guard.js';
import type { PreparedFeatures } from './prepare-features.js';
import { trainModel } from './train-model.js';
import { sparseOptimizerConfig } from '../train/step.js';
import type { TrainProgress } from '../train/progress.js';

/** The metric every trial is scored on (lower is better). */
export const TUNE_METRIC = 'logloss_ctcvr';

/** One point of the search space. */
export interface TrialSettings {
  learning_rate: number;
  embedding_learning_rate: number;
  embedding_l2: number;
  dropout: number;
  embedding_dim: number;
  tower: number[];
  epochs: number;
}

/** Where each setting is drawn from: log-uniform ranges for rates, choices for the rest. */
export interface SearchSpace {
  learning_rate: [number, number];
  embedding_learning_rate: [number, number];
  embedding_l2: number[];
  dropout: number[];
  embedding_dim: number[];
  tower: number[][];
  epochs: number[];
}

/**
 * Defaults around what works on the simulator and the paper's settings (dim 18, 360x200x80).
 * Embedding L2 choices span what moves a model: on the quality grid (bench/quality.js --sizes 200000
 * --per-epoch 5 --tower 128,64 --set train.embedding_l2=X, esmm and esm2, sparse and anticorr,
 * seeds 1-2, against the same runs at 0) 1e-5 moved the kept epoch's pCVR AUC by +.0006 on average
 * (no run more than .003), 1e-4 by +.0016 and 1e-3 by +.0085 (8 runs each; over all five models and
 * three regimes, 45 runs, 1e-3 gave +.0026 and better in 26, at a cost in pCVR calibration). The
 * former 1e-6 and 1e-5 choices were close to 0. Only the plain form is searched.
 */
export const DEFAULT_SEARCH_SPACE: SearchSpace = {
  learning_rate: [2e-4, 1e-2],
  embedding_learning_rate: [1e-3, 1e-1],
  embedding_l2: [0, 1e-4, 3e-4, 1e-3],
  dropout: [0, 0.1, 0.2, 0.3],
  embedding_dim: [8, 12, 18, 32],
  tower: [[64, 32], [128, 64], [256, 128, 64], [360, 200, 80]],
  epochs: [1, 2, 3],
};

/**
 * The search space of a config's optional `tune:` section: each key replaces the default's range
 * (`learning_rate: [1e-4, 1e-2]`, log-uniform) or choices (`dropout: [0, 0.1]`); missing keys keep
 * DEFAULT_SEARCH_SPACE. Bad values are one line naming the key.
 */
export function parseSearchSpace(value: unknown, source: string): SearchSpace {
  const space: SearchSpace = structuredClone(DEFAULT_SEARCH_SPACE);
  if (value === undefined || value === null) return space;
  const c = new ConfigChecker(source);
  const o = c.object(value, 'tune');
  c.onlyKeys(o, 'tune', Object.keys(DEFAULT_SEARCH_SPACE));
  const nonEmpty = <T>(xs: T[], key: string): T[] => (xs.length > 0 ? xs : c.fail(key, 'expected at least one value'));
  const list = (key: string): unknown[] => (Array.isArray(o[key]) ? nonEmpty(o[key] as unknown[], `tune.${key}`) : c.fail(`tune.${key}`, 'expected a list'));
  for (const key of ['learning_rate', 'embedding_learning_rate'] as const) {
    if (o[key] === undefined) continue;
    const v = list(key);
    if (v.length !== 2) c.fail(`tune.${key}`, 'expected a range [low, high] (sampled log-uniform)');
    const lo = c.number(v[0], `tune.${key}[0]`, { min: 0, exclusiveMin: true, max: 10 });
    const hi = c.number(v[1], `tune.${key}[1]`, { min: lo, max: 10 });
    space[key] = [lo, hi];
  }
  if (o.embedding_l2 !== undefined) space.embedding_l2 = list('embedding_l2').map((x, i) => c.number(x, `tune.embedding_l2[${i}]`, { min: 0 }));
  if (o.dropout !== undefined) space.dropout = list('dropout').map((x, i) => c.number(x, `tune.dropout[${i}]`, { min: 0, max: 0.95 }));
  if (o.embedding_dim !== undefined) space.embedding_dim = nonEmpty(c.intList(o.embedding_dim, 'tune.embedding_dim'), 'tune.embedding_dim');
  if (o.epochs !== undefined) space.epochs = nonEmpty(c.intList(o.epochs, 'tune.epochs'), 'tune.epochs');
  if (o.tower !== undefined) space.tower = list('tower').map((t, i) => nonEmpty(c.intList(t, `tune.tower[${i}]`), `tune.tower[${i}]`));
  return space;
}

export interface TrialRecord {
  /** 1-based, in the order trials ran. */
  trial: number;
  /** Which sampled configuration (1-based); the same config appears once per rung it reached. */
  config: number;
  /** Configuration 1 as the config file had it (not sampled). */
  from_config: boolean;
  /** Successive-halving rung (0 = smallest fidelity); always the last rung for random search. */
  rung: number;
  /** Training rows and epochs this trial used (its fidelity). */
  rows: number;
  epochs: number;
  /** Epochs actually trained (early stopping may end sooner) and the epoch whose weights were scored. */
  trained_epochs: number;
  kept_epoch: number;
  full_fidelity: boolean;
  settings: TrialSettings;
  /** Validation CTCVR logloss (null when the run produced no finite score). */
  score: number | null;
  /** Other validation metrics of the trial. */
  metrics: Record<string, number>;
  seconds: number;
}

export interface TuneOptions {
  /** Wall-clock budget in seconds, reading the data and fitting the features included. */
  budgetSeconds: number;
  /** Number of configurations sampled (default 16). */
  trials?: number;
  seed?: number;
  strategy?: 'auto' | 'random' | 'halving';
  space?: SearchSpace;
  /** Write DIR/best.yaml and DIR/trials.json. */
  outDir?: string;
  /**
   * The config as the user wrote it (parsed YAML/JSON, overrides merged): best.yaml is this with
   * the winning settings, so presets and `schema: synth` stay as written. Without it best.yaml is
   * written from the parsed config.
   */
  rawConfig?: unknown;
  log?: (line: string) => void;
  /** One line per finished trial. */
  onTrial?: (t: TrialRecord, progress: { elapsed: number; budget: number; eta: number | undefined; done: number; planned: number }) => void;
  /** Make configuration 1 the config's own settings (default true); the other n-1 are sampled. */
  includeConfig?: boolean;
  /** Step progress inside a trial (a progress line on a terminal). */
  onProgress?: (p: TrainProgress) => void;
  /** Reuse data already loaded and encoded. */
  prepared?: { data: LoadedData; features: PreparedFeatures };
}

export interface TuneResult {
  trials: TrialRecord[];
  /** The best full-fidelity trial (or the best of the highest rung reached when the budget ran out first). */
  best: TrialRecord | undefined;
  strategy: 'random' | 'halving';
  /** best.yaml's text (also written to outDir when given). */
  bestYaml: string | undefined;
  stoppedByBudget: boolean;
  seconds: number;
}

/** Marks the files `esmm tune` writes, so a rerun may replace them and nothing else. */
const YAML_MARK = '# written by esmm tune';
const JSON_FORMAT = 'esmm-tune-trials';

/** Fail before any work when DIR/best.yaml or DIR/trials.json exists and is not esmm tune's. */
export function checkTuneOutDir(dir: string, flag = '--out'): void {
  checkOutputDir(dir, flag);
  const yaml = join(dir, 'best.yaml');
  const json = join(dir, 'trials.json');
  checkOutputFile(yaml, `${flag} (best.yaml)`);
  checkOutputFile(json, `${flag} (trials.json)`);
  if (existsSync(yaml) && !readFileSync(yaml, 'utf8').startsWith(YAML_MARK)) {
    throw new UserError('exists and was not written by esmm tune; it is never replaced: choose another --out', { file: yaml });
  }
  if (existsSync(json)) {
    let format: unknown;
    try {
      format = (JSON.parse(readFileSync(json, 'utf8')) as { format?: unknown }).format;
    } catch {
      format = undefined;
    }
    if (format !== JSON_FORMAT) throw new UserError('exists and was not written by esmm tune; it is never replaced: choose another --out', { file: json });
  }
}

/** Refuse (one line) a config with no validation data: no valid file, no simulator split, holdout off. */
export function requireValidation(config: EsmmConfig): void {
  const h = config.data.holdout ?? DEFAULT_HOLDOUT;
  if (config.data.valid === undefined && config.data.synth === undefined && h.fraction <= 0) {
    throw new UserError(`tune scores trials on validation ${TUNE_METRIC}, but the config has no validation data: set data.valid or a data.holdout fraction above 0`, { file: config.source, key: 'data.holdout' });
  }
}

/** Draw `n` settings from the space with a seeded generator (same seed, same settings). */
export function sampleSettings(space: SearchSpace, n: number, seed: number): TrialSettings[] {
  const rng = new Rng(seed);
  const logUniform = ([lo, hi]: [number, number]): number => Number(Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo))).toPrecision(3));
  const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)]!;
  const out: TrialSettings[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      learning_rate: logUniform(space.learning_rate),
      embedding_learning_rate: logUniform(space.embedding_learning_rate),
      embedding_l2: pick(space.embedding_l2),
      dropout: pick(space.dropout),
      embedding_dim: pick(space.embedding_dim),
      tower: [...pick(space.tower)],
      epochs: pick(space.epochs),
    });
  }
  return out;
}

/** The settings a config trains with now (the embedding rate as the trainer derives it). */
export function configSettings(config: EsmmConfig): TrialSettings {
  const t = config.train;
  return {
    learning_rate: t.learning_rate,
    embedding_learning_rate: sparseOptimizerConfig(t).lr,
    embedding_l2: t.embedding_l2,
    dropout: config.model.dropout,
    embedding_dim: config.model.embedding_dim,
    tower: [...config.model.tower],
    epochs: t.epochs,
  };
}

/** The config of one trial: the base config with the trial's settings (and fidelity). */
export function applySettings(config: EsmmConfig, s: TrialSettings, epochs = s.epochs): EsmmConfig {
  return {
    ...config,
    model: { ...config.model, embedding_dim: s.embedding_dim, tower: [...s.tower], dropout: s.dropout },
    train: { ...config.train, learning_rate: s.learning_rate, embedding_learning_rate: s.embedding_learning_rate, embedding_l2: s.embedding_l2, epochs },
  };
}

interface Rung {
  /** Fraction of the training rows. */
  fraction: number;
  /** Epochs: 1 below the last rung, the trial's own epochs at the last. */
  epochs: 'one' | 'own';
  /** How many configurations this rung trains. */
  count: number;
}

/** Rungs of successive halving with eta 2: n configs on 1/2^k of the rows, halving until full fidelity. */
function halvingRungs(n: number): Rung[] {
  const levels = Math.max(1, Math.min(3, Math.floor(Math.log2(n)) - 1));
  const rungs: Rung[] = [];
  let count = n;
  for (let r = 0; r < levels; r++) {
    rungs.push({ fraction: 1 / 2 ** (levels - r), epochs: 'one', count });
    count = Math.max(1, Math.ceil(count / 2));
  }
  rungs.push({ fraction: 1, epochs: 'own', count });
  return rungs;
}

/**
 * Search the settings on the validation CTCVR logloss. See the file comment; `opts.budgetSeconds`
 * bounds the time spent training (a trial is not started when its estimated end is past it).
 */
export async function tuneModel(config: EsmmConfig, opts: TuneOptions): Promise<TuneResult> {
  requireValidation(config);
  // Every trial reuses the encoded rows in memory; streaming training re-reads files each epoch.
  if (config.train.streaming === true) throw new UserError('tune keeps the training rows in memory for all trials; it does not stream: tune on a sample with train.streaming off', { file: config.source, key: 'train.streaming' });
  if (opts.outDir !== undefined) checkTuneOutDir(opts.outDir);
  const n = opts.trials ?? 16;
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--trials expects a positive integer, got ${n}`);
  const seed = opts.seed ?? config.train.seed;
  const space = opts.space ?? DEFAULT_SEARCH_SPACE;
  const strategy = opts.strategy === undefined || opts.strategy === 'auto' ? (n >= 8 ? 'halving' : 'random') : opts.strategy;
  const log = opts.log;
  // The budget is wall-clock from here: reading the data and fitting the features count too.
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;

  const data = opts.prepared?.data ?? (await loadData(config.data, config.schema, { baseDir: config.baseDir, source: config.source, ...(log !== undefined ? { log } : {}) }));
  // A feature that is a label in disguise stops here, as in esmm train.
  guardLeakage(config.schema, data.train, log !== undefined ? { log } : {});
  const features = opts.prepared?.features ?? prepareLogged(config, data, log);
  const valid = features.valid;
  if (valid === undefined || valid.rows === 0) {
    throw new UserError(`tune scores trials on validation ${TUNE_METRIC}, but no validation rows were read or held out: set data.valid or a larger data.holdout fraction`, { file: config.source, key: 'data.holdout' });
  }

  // Configuration 1 is the config's own settings (unless includeConfig is false): the search
  // never ends with a winner worse on validation than what the user already had, if it ran.
  const own = opts.includeConfig !== false;
  const settings = own ? [configSettings(config), ...sampleSettings(space, n - 1, seed)] : sampleSettings(space, n, seed);
  const rungs: Rung[] = strategy === 'halving' ? halvingRungs(n) : [{ fraction: 1, epochs: 'own', count: n }];
  log?.(`tuning ${n} configurations${own ? " (1: the config's own settings)" : ''} by ${strategy === 'halving' ? `successive halving (${rungs.map((r) => `${r.count} on ${Math.round(r.fraction * 100)}% of rows`).join(', ')})` : 'random search'}, seed ${seed}, budget ${formatSeconds(opts.budgetSeconds)}; score: valid ${TUNE_METRIC}`);

  const trials: TrialRecord[] = [];
  // Seconds per (training row x epoch), from the trials so far: the estimate of the next trial's time.
  let unitSeconds: number | undefined;
  const ownRate = new Map<number, number>();
  let units = 0;
  let spent = 0;
  const planned = rungs.reduce((s, r) => s + r.count, 0);
  let stoppedByBudget = false;
  let alive = settings.map((_, i) => i);

  const rowsOf = (k: number): number => Math.max(1, Math.round(features.train.rows * rungs[k]!.fraction));
  const epochsOf = (k: number, i: number): number => (rungs[k]!.epochs === 'own' ? settings[i]!.epochs : 1);
  // Seconds per row-epoch: a config promoted from a lower rung brings its own measured rate (tower
  // size and embedding dimension change the cost per row); others the mean rate so far.
  const rateOf = (i: number): number | undefined => ownRate.get(i) ?? unitSeconds;
  /** Estimated seconds of the trials still planned from rung `from` (its first `skip` configs done). */
  const plannedSeconds = (from: number, skip: number): number => {
    let total = 0;
    for (let k = from; k < rungs.length; k++) {
      for (const i of alive.slice(k === from ? skip : 0, rungs[k]!.count)) total += (rateOf(i) ?? 0) * rowsOf(k) * epochsOf(k, i);
    }
    return total;
  };
  let notStarted = 0;
  // trials.json and best.yaml are rewritten (atomically) after every trial, so a search stopped
  // part-way (Ctrl-C, a crash) leaves the trials it finished and the best config so far.
  const publish = (done: boolean): { best: TrialRecord | undefined; bestYaml: string | undefined } => {
    const best = pickBest(trials);
    if (best === undefined) return { best, bestYaml: undefined };
    const bestYaml = bestConfigYaml(config, best, opts.rawConfig, { seed, strategy, trials: trials.length });
    if (opts.outDir !== undefined) {
      writeFileAtomic(join(opts.outDir, 'trials.json'), `${JSON.stringify({ format: JSON_FORMAT, metric: TUNE_METRIC, strategy, seed, budget_seconds: opts.budgetSeconds, finished: done, stopped_by_budget: stoppedByBudget, best_trial: best.trial, trials }, null, 2)}\n`);
      writeFileAtomic(join(opts.outDir, 'best.yaml'), bestYaml);
    }
    return { best, bestYaml };
  };

  for (let r = 0; r < rungs.length; r++) {
    // Halving on a tight budget: when the rungs left would not fit, the best configs so far go
    // straight to full size (a winner at full fidelity beats a finished ladder of small trials).
    if (r > 0 && r < rungs.length - 1 && elapsed() + plannedSeconds(r, 0) > opts.budgetSeconds) {
      log?.(`budget: the remaining rungs would end past ${formatSeconds(opts.budgetSeconds)}; the best ${Math.min(alive.length, rungs[rungs.length - 1]!.count)} go straight to full size`);
      r = rungs.length - 1;
    }
    const rung = rungs[r]!;
    const rows = rowsOf(r);
    const train = rows === features.train.rows ? features.train : sliceEncoded(features.train, 0, rows);
    const results: { index: number; score: number }[] = [];
    const queue = alive.slice(0, rung.count);
    for (let q = 0; q < queue.length; q++) {
      const index = queue[q]!;
      const s = settings[index]!;
      const epochs = epochsOf(r, index);
      const rate = rateOf(index);
      const estimate = rate === undefined ? undefined : rate * rows * epochs;
      // Not started when its estimated end is past the budget; a cheaper one later may still fit.
      if (estimate !== undefined && elapsed() + estimate > opts.budgetSeconds) {
        stoppedByBudget = true;
        notStarted++;
        continue;
      }
      const started = performance.now();
      const cfg = applySettings(config, s, epochs);
      const result = await trainModel(cfg, { ...features, train }, opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {});
      const metrics = evaluatePredictions(valid, await result.model.predictEncoded(valid));
      await result.model.release();
      const seconds = (performance.now() - started) / 1000;
      const trainedEpochs = Math.max(1, result.history.length);
      units += rows * trainedEpochs;
      spent += seconds;
      unitSeconds = spent / units;
      ownRate.set(index, seconds / (rows * trainedEpochs));
      const score = metrics[TUNE_METRIC];
      const rec: TrialRecord = {
        trial: trials.length + 1,
        config: index + 1,
        from_config: own && index === 0,
        rung: r,
        rows,
        epochs,
        trained_epochs: result.history.length,
        kept_epoch: result.keptEpoch,
        full_fidelity: rung.fraction === 1 && rung.epochs === 'own',
        settings: s,
        score: score !== undefined && Number.isFinite(score) ? score : null,
        metrics,
        seconds,
      };
      trials.push(rec);
      if (rec.score !== null) results.push({ index, score: rec.score });
      publish(false);
      opts.onTrial?.(rec, { elapsed: elapsed(), budget: opts.budgetSeconds, eta: plannedSeconds(r, q + 1), done: trials.length, planned });
    }
    if (results.length === 0) break;
    // The better half (by score) goes on; configs without a finite score (or not run) stop here.
    results.sort((a, b) => a.score - b.score || a.index - b.index);
    alive = results.map((x) => x.index);
  }
  if (notStarted > 0) log?.(`budget: ${notStarted} planned trial${notStarted === 1 ? ' was' : 's were'} not started (estimated end past ${formatSeconds(opts.budgetSeconds)})`);

  const { best, bestYaml } = publish(true);
  return { trials, best, strategy, bestYaml, stoppedByBudget, seconds: elapsed() };
}

/** The lowest score among the trials of the highest rung that has a score (full fidelity when reached). */
export function pickBest(trials: TrialRecord[]): TrialRecord | undefined {
  const scored = trials.filter((t) => t.score !== null);
  if (scored.length === 0) return undefined;
  const top = Math.max(...scored.map((t) => t.rung));
  return scored.filter((t) => t.rung === top).reduce((a, b) => (b.score! < a.score! ? b : a));
}

/**
 * best.yaml: a complete config for `esmm train --config`: the user's config (or the parsed one)
 * with the winning settings, data paths made absolute (the file lives in another folder).
 */
export function bestConfigYaml(config: EsmmConfig, best: TrialRecord, raw: unknown, about: { seed: number; strategy: string; trials: number }): string {
  const s = best.settings;
  const base = raw !== undefined && raw !== null && typeof raw === 'object' ? structuredClone(raw) as Record<string, unknown> : parsedAsObject(config);
  const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {});
  const data = obj(base.data);
  for (const k of ['train', 'valid', 'test'] as const) {
    const p = data[k];
    if (typeof p === 'string' && !isAbsolute(p)) data[k] = resolve(config.baseDir, p);
  }
  const model = obj(base.model);
  model.embedding_dim = s.embedding_dim;
  model.tower = [...s.tower];
  model.dropout = s.dropout;
  const train = obj(base.train);
  Object.assign(train, { epochs: s.epochs, learning_rate: s.learning_rate, embedding_learning_rate: s.embedding_learning_rate, embedding_l2: s.embedding_l2 });
  const out = { ...base, data, model, train };
  const head = [
    YAML_MARK,
    `# from ${config.source}: best of ${about.trials} trials (${about.strategy}, seed ${about.seed}),`,
    `# trial ${best.trial}: valid ${TUNE_METRIC} ${best.score?.toFixed(5)}. Train it with: esmm train --config best.yaml`,
  ];
  return `${head.join('\n')}\n${YAML.stringify(out, { flow: false })}`;
}

/** A parsed config written back as config keys (when the user's own text is not at hand). */
function parsedAsObject(config: EsmmConfig): Record<string, unknown> {
  const { baseDir: _b, source: _s, preset: _p, ...rest } = config;
  return structuredClone(rest) as Record<string, unknown>;
}

/** 90 -> "1m30s", 20 -> "20s". */
export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  const r = Math.round(s - 60 * m);
  return r === 0 ? `${m}m` : `${m}m${String(r).padStart(2, '0')}s`;
}

/** "20m", "90s", "1h", "1m30s", or plain seconds -> seconds; undefined when unreadable. */
export function parseDuration(text: string): number | undefined {
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$/.exec(text.trim());
  if (m === null || text.trim() === '' || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) return undefined;
  const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return s > 0 ? s : undefined;
}
