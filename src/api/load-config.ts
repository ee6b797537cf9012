import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, resolve, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { UserError } from '../errors.js';
import { checkInputFile } from '../util/input-path.js';
import type { Schema } from '../data/schema.js';
import { synthSchema } from '../synth/schema.js';
import { TASK_NAME_KEYS } from '../data/task-names.js';
import { ConfigChecker, TRAIN_LIMITS, type Obj } from '../config/check.js';
import { DEFAULT_EARLY_STOPPING, DEFAULT_TRAIN } from '../config/defaults.js';
import type { DataConfig, EarlyStoppingConfig, EsmmConfig, FeaturesConfig, TrainConfig } from '../config/types.js';
import { checkModelFields, parseModel, type RegistryNames } from '../config/parse-model.js';
import { funnelSpec, MODEL_NAMES } from '../models/registry.js';
import { parseBytes } from '../data/memory-budget.js';
import { TOWER_TYPES } from '../models/towers/index.js';
import { BOTTOM_TYPES } from '../models/bottoms/index.js';

/** The registries' names a config is checked against (each registry is one map in models/). */
const REGISTRY_NAMES: RegistryNames = { models: MODEL_NAMES, towers: TOWER_TYPES, bottoms: BOTTOM_TYPES };
import { DEFAULT_HOLDOUT } from '../data/holdout.js';
import { levelRefitUnsupported } from '../train/level-refit.js';

/** Folder of the built-in configs shipped with the package (configs/*.yaml). */
function builtinDir(): string {
  // Works both from src/ (vitest) and dist/src/ (compiled): walk up until configs/ exists.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'configs');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return join(process.cwd(), 'configs');
}

/**
 * Names of the built-in configs (`esmm train --config esmm`): the configs/*.yaml files, model
 * names first in registry order, then the rest (demo) alphabetically.
 */
export function builtinConfigNames(): string[] {
  const dir = builtinDir();
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length));
  const rank = (n: string): number => {
    const i = (MODEL_NAMES as readonly string[]).indexOf(n);
    return i < 0 ? MODEL_NAMES.length : i;
  };
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * Load a config from a YAML/JSON file, or a built-in one by name (`esmm`, `esm2`, ...).
 * Unknown keys and bad values are refused with the key path in the message.
 */
export function loadConfig(pathOrBuiltinName: string, overrides: Obj = {}): EsmmConfig {
  const { value, file, baseDir } = readConfigFile(pathOrBuiltinName, overrides);
  return parseConfig(value, file, baseDir);
}

/**
 * The parsed (not yet checked) YAML/JSON of a config file or built-in config, with `overrides`
 * merged in, and the folder its relative paths are resolved against.
 */
export function readConfigFile(pathOrBuiltinName: string, overrides: Obj = {}): { value: unknown; file: string; baseDir: string } {
  let file = pathOrBuiltinName;
  if (!existsSync(file) && !/[/\\.]/.test(pathOrBuiltinName)) {
    const builtin = join(builtinDir(), `${pathOrBuiltinName}.yaml`);
    if (!existsSync(builtin)) {
      throw new UserError(`no such config file or built-in config; built-ins: ${builtinConfigNames().join(', ')}`, { file: pathOrBuiltinName });
    }
    file = builtin;
  }
  if (!existsSync(file)) throw new UserError('config file not found', { file });
  checkInputFile(file, 'a YAML or JSON config file', { key: '--config' });
  const text = readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = extname(file) === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw new UserError(`cannot parse config: ${(e as Error).message.split('\n')[0]}`, { file });
  }
  const merged = deepMerge(parsed ?? {}, overrides);
  return { value: merged, file, baseDir: dirname(resolve(file)) };
}

/** Validate a config object (already parsed) and fill in defaults. */
export function parseConfig(value: unknown, source: string, baseDir: string): EsmmConfig {
  const c = new ConfigChecker(source);
  const root = c.object(value, '');
  // `tune:` is the search space of `esmm tune` (parsed by api/tune.ts); training ignores it.
  c.onlyKeys(root, '', ['data', 'schema', 'features', 'model', 'train', 'tune']);
  const data = parseData(c, root.data ?? {});
  const schema = parseSchema(c, root.schema ?? (data.synth !== undefined ? 'synth' : undefined), data.synth?.stages);
  const features = parseFeatures(c, root.features ?? {});
  const model = parseModel(c, root.model ?? {}, REGISTRY_NAMES);
  const train = parseTrain(c, root.train ?? {});
  checkModelFields(c, model, schema);
  checkTowerLrScales(c, model, schema);
  if (train.level_refit === true) {
    const why = levelRefitUnsupported(model);
    if (why !== undefined) c.fail('train.level_refit', `the level refit ${why}`);
  }
  checkEarlyStoppingMetric(c, train, schema);
  if (data.train === undefined && data.synth === undefined) c.fail('data.train', 'expected a training file (or data.synth for simulated data)');
  if (data.train !== undefined && data.synth !== undefined) c.fail('data.synth', 'give either data files (data.train) or data.synth, not both');
  return { data, schema, features, model, train, baseDir, source };
}

/** A `model.towers.NAME.lr_scale` must name a tower of the model (a misspelt tower would train at full rate). */
function checkTowerLrScales(c: ConfigChecker, model: EsmmConfig['model'], schema: Schema): void {
  const scaled = Object.entries(model.towers).filter(([, t]) => t.lr_scale !== undefined);
  if (scaled.length === 0) return;
  const towers = funnelSpec(model.name, schema).towers.map((t) => t.name);
  for (const [name] of scaled) {
    if (!towers.includes(name)) c.fail(`model.towers.${name}.lr_scale`, `model '${model.name}' has no tower '${name}'; its towers: ${towers.join(', ')}`);
  }
}

function parseData(c: ConfigChecker, v: unknown): DataConfig {
  const o = c.object(v, 'data');
  c.onlyKeys(o, 'data', ['train', 'valid', 'test', 'format', 'skip_invalid', 'header', 'columns', 'synth', 'holdout']);
  const out: DataConfig = {};
  for (const k of ['train', 'valid', 'test'] as const) if (o[k] !== undefined) out[k] = c.string(o[k], `data.${k}`);
  if (o.format !== undefined) out.format = c.oneOf(o.format, 'data.format', ['csv', 'tsv', 'jsonl', 'parquet'] as const);
  if (o.skip_invalid !== undefined) out.skip_invalid = c.boolean(o.skip_invalid, 'data.skip_invalid');
  if (o.header !== undefined) out.header = c.boolean(o.header, 'data.header');
  if (o.columns !== undefined) out.columns = c.stringList(o.columns, 'data.columns');
  if (out.header === false && out.columns === undefined) c.fail('data.columns', 'a file without a header (data.header: false) needs data.columns: the column names in file order');
  if (out.header !== false && out.columns !== undefined) c.fail('data.columns', 'only read for files without a header: add data.header: false');
  if (o.holdout !== undefined) {
    // A number is the fraction; a mapping may also name a time column and a seed.
    const h = typeof o.holdout === 'number' ? { fraction: o.holdout } : c.object(o.holdout, 'data.holdout');
    c.onlyKeys(h, 'data.holdout', ['fraction', 'time_column', 'seed']);
    out.holdout = {
      fraction: h.fraction === undefined ? DEFAULT_HOLDOUT.fraction : c.number(h.fraction, 'data.holdout.fraction', { min: 0, max: 0.9 }),
      seed: h.seed === undefined ? DEFAULT_HOLDOUT.seed : c.number(h.seed, 'data.holdout.seed', { integer: true }),
      ...(h.time_column !== undefined ? { time_column: c.string(h.time_column, 'data.holdout.time_column') } : {}),
    };
  }
  if (o.synth !== undefined) {
    const s = c.object(o.synth, 'data.synth');
    if (s.rows !== undefined) c.positiveInt(s.rows, 'data.synth.rows');
    if (s.seed !== undefined) c.number(s.seed, 'data.synth.seed', { integer: true });
    out.synth = s;
  }
  return out;
}

function parseSchema(c: ConfigChecker, v: unknown, synthStages: unknown): Schema {
  // `schema: synth` follows the simulator's columns, including an optional chain of stages.
  if (v === 'synth') return synthSchema(synthStages === undefined ? undefined : c.stringList(synthStages, 'data.synth.stages'));
  if (v === undefined) c.fail('schema', 'missing: say which columns are labels and features');
  if (typeof v === 'string') c.fail('schema', `'${v}' is not a schema; to start from a dataset preset write schema: { preset: ${v} } and load the config with esmm train`);
  const o = c.object(v, 'schema');
  // schema.preset, schema.exclude and column patterns are resolved against the data files
  // (src/api/resolve-config.ts) before a config reaches here.
  for (const k of ['preset', 'exclude'] as const) {
    if (o[k] !== undefined) c.fail(`schema.${k}`, 'is resolved against the data files: load this config with esmm train (or resolveTrainingConfig)');
  }
  c.onlyKeys(o, 'schema', ['labels', 'categorical', 'multi_valued', 'numeric', 'group', 'truth', 'allow_leaky', 'task_names']);
  const l = c.object(o.labels, 'schema.labels');
  c.onlyKeys(l, 'schema.labels', ['click', 'buy', 'actions']);
  const schema: Schema = {
    labels: {
      click: c.string(l.click, 'schema.labels.click'),
      buy: c.string(l.buy, 'schema.labels.buy'),
      ...(l.actions !== undefined ? { actions: c.stringList(l.actions, 'schema.labels.actions') } : {}),
    },
    categorical: o.categorical === undefined ? [] : c.stringList(o.categorical, 'schema.categorical'),
  };
  if (o.multi_valued !== undefined) {
    if (!Array.isArray(o.multi_valued)) c.fail('schema.multi_valued', 'expected a list of {name, separator}');
    schema.multi_valued = o.multi_valued.map((m, i) => {
      const key = `schema.multi_valued[${i}]`;
      const mo = c.object(m, key);
      c.onlyKeys(mo, key, ['name', 'separator', 'weight_separator']);
      return {
        name: c.string(mo.name, `${key}.name`),
        separator: mo.separator === undefined ? '|' : c.string(mo.separator, `${key}.separator`),
        ...(mo.weight_separator !== undefined ? { weight_separator: c.string(mo.weight_separator, `${key}.weight_separator`) } : {}),
      };
    });
  }
  if (o.numeric !== undefined) schema.numeric = c.stringList(o.numeric, 'schema.numeric');
  if (o.group !== undefined) schema.group = c.string(o.group, 'schema.group');
  if (o.truth !== undefined) schema.truth = c.stringList(o.truth, 'schema.truth');
  if (o.allow_leaky !== undefined) schema.allow_leaky = c.stringList(o.allow_leaky, 'schema.allow_leaky');
  if (o.task_names !== undefined) schema.task_names = parseTaskNames(c, o.task_names, schema);
  checkLeakage(c, schema);
  return schema;
}

/** schema.task_names: a display name per label key of schema.labels (click, buy, actions). */
function parseTaskNames(c: ConfigChecker, v: unknown, schema: Schema): NonNullable<Schema['task_names']> {
  const o = c.object(v, 'schema.task_names');
  const known: readonly string[] = schema.labels.actions !== undefined ? TASK_NAME_KEYS : TASK_NAME_KEYS.filter((k) => k !== 'actions');
  const out: NonNullable<Schema['task_names']> = {};
  for (const [k, name] of Object.entries(o)) {
    if (!known.includes(k)) c.fail(`schema.task_names.${k}`, `'${k}' is not a label key of schema.labels; task_names names the labels: ${known.join(', ')}`);
    out[k as (typeof TASK_NAME_KEYS)[number]] = c.string(name, `schema.task_names.${k}`);
  }
  return out;
}

/** A label or truth column used as a feature gives AUC 1.0 (a pitfall seen in other projects). */
function checkLeakage(c: ConfigChecker, s: Schema): void {
  const labels = new Set([s.labels.click, s.labels.buy, ...(s.labels.actions ?? [])]);
  const truth = new Set(s.truth ?? []);
  const seen = new Set<string>();
  const features = [...s.categorical, ...(s.multi_valued ?? []).map((m) => m.name), ...(s.numeric ?? [])];
  for (const f of features) {
    if (labels.has(f)) c.fail('schema', `label column '${f}' is also listed as a feature (label leakage)`);
    if (truth.has(f)) c.fail('schema', `truth column '${f}' is also listed as a feature (leakage)`);
    if (seen.has(f)) c.fail('schema', `column '${f}' is listed twice as a feature`);
    seen.add(f);
  }
  if (features.length === 0) c.fail('schema', 'no feature columns: list categorical, multi_valued or numeric columns');
  (s.allow_leaky ?? []).forEach((name, i) => {
    if (!seen.has(name)) c.fail(`schema.allow_leaky[${i}]`, `'${name}' is not a feature column`);
  });
}

function parseFeatures(c: ConfigChecker, v: unknown): FeaturesConfig {
  const o = c.object(v, 'features');
  c.onlyKeys(o, 'features', ['min_count', 'hash_buckets', 'numeric_transform', 'quantile_buckets', 'fields']);
  const f: FeaturesConfig = {};
  if (o.min_count !== undefined) f.min_count = c.positiveInt(o.min_count, 'features.min_count');
  if (o.hash_buckets !== undefined) f.hash_buckets = c.positiveInt(o.hash_buckets, 'features.hash_buckets');
  if (o.numeric_transform !== undefined) f.numeric_transform = c.oneOf(o.numeric_transform, 'features.numeric_transform', ['standardize_tanh', 'quantile'] as const);
  if (o.quantile_buckets !== undefined) f.quantile_buckets = c.positiveInt(o.quantile_buckets, 'features.quantile_buckets');
  if (o.fields !== undefined) {
    const fo = c.object(o.fields, 'features.fields');
    f.fields = {};
    for (const [name, spec] of Object.entries(fo)) {
      const key = `features.fields.${name}`;
      const so = c.object(spec, key);
      c.onlyKeys(so, key, ['min_count', 'hash_buckets', 'transform', 'buckets']);
      f.fields[name] = {
        ...(so.min_count !== undefined ? { min_count: c.positiveInt(so.min_count, `${key}.min_count`) } : {}),
        ...(so.hash_buckets !== undefined ? { hash_buckets: c.positiveInt(so.hash_buckets, `${key}.hash_buckets`) } : {}),
        ...(so.transform !== undefined ? { transform: c.oneOf(so.transform, `${key}.transform`, ['standardize_tanh', 'quantile'] as const) } : {}),
        ...(so.buckets !== undefined ? { buckets: c.positiveInt(so.buckets, `${key}.buckets`) } : {}),
      };
    }
  }
  return f;
}

function parseTrain(c: ConfigChecker, v: unknown): TrainConfig {
  const o = c.object(v, 'train');
  c.onlyKeys(o, 'train', ['epochs', 'batch_size', 'learning_rate', 'embedding_learning_rate', 'lr_decay', 'level_refit', 'embedding_optimizer', 'embedding_l2', 'embedding_l2_frequency', 'optimizer', 'weight_decay', 'clip_norm', 'seed', 'shuffle', 'early_stopping', 'checkpoint_every', 'threads', 'workers', 'validate', 'calibration', 'strict', 'streaming', 'memory_budget']);
  const t: TrainConfig = { ...DEFAULT_TRAIN };
  if (o.epochs !== undefined) t.epochs = c.number(o.epochs, 'train.epochs', { min: 1, integer: true, max: TRAIN_LIMITS.epochs });
  if (o.batch_size !== undefined) t.batch_size = c.number(o.batch_size, 'train.batch_size', { min: 1, integer: true, max: TRAIN_LIMITS.batch_size });
  if (o.learning_rate !== undefined) t.learning_rate = c.number(o.learning_rate, 'train.learning_rate', { min: 0, exclusiveMin: true, max: TRAIN_LIMITS.learning_rate });
  if (o.embedding_learning_rate !== undefined) t.embedding_learning_rate = c.number(o.embedding_learning_rate, 'train.embedding_learning_rate', { min: 0, exclusiveMin: true, max: TRAIN_LIMITS.embedding_learning_rate });
  if (o.lr_decay !== undefined) t.lr_decay = c.number(o.lr_decay, 'train.lr_decay', { min: 0, exclusiveMin: true, max: 1 });
  if (o.level_refit !== undefined) t.level_refit = c.boolean(o.level_refit, 'train.level_refit');
  if (o.embedding_optimizer !== undefined) t.embedding_optimizer = c.oneOf(o.embedding_optimizer, 'train.embedding_optimizer', ['adagrad', 'adam', 'ftrl', 'sgd'] as const);
  if (o.embedding_l2 !== undefined) t.embedding_l2 = c.number(o.embedding_l2, 'train.embedding_l2', { min: 0 });
  if (o.embedding_l2_frequency !== undefined) t.embedding_l2_frequency = c.boolean(o.embedding_l2_frequency, 'train.embedding_l2_frequency');
  if (o.optimizer !== undefined) t.optimizer = c.oneOf(o.optimizer, 'train.optimizer', ['adam', 'adamw', 'sgd'] as const);
  if (o.weight_decay !== undefined) t.weight_decay = c.number(o.weight_decay, 'train.weight_decay', { min: 0, max: TRAIN_LIMITS.weight_decay });
  if (o.clip_norm !== undefined) t.clip_norm = c.number(o.clip_norm, 'train.clip_norm', { min: 0, exclusiveMin: true, max: TRAIN_LIMITS.clip_norm });
  if (o.seed !== undefined) t.seed = c.seed(o.seed, 'train.seed');
  if (o.shuffle !== undefined) t.shuffle = c.boolean(o.shuffle, 'train.shuffle');
  if (o.checkpoint_every !== undefined) t.checkpoint_every = c.positiveInt(o.checkpoint_every, 'train.checkpoint_every');
  if (o.threads !== undefined) t.threads = c.positiveInt(o.threads, 'train.threads');
  if (o.workers !== undefined) t.workers = c.positiveInt(o.workers, 'train.workers');
  if (o.validate !== undefined) t.validate = c.boolean(o.validate, 'train.validate');
  if (o.calibration !== undefined) t.calibration = c.oneOf(o.calibration, 'train.calibration', ['none', 'auto', 'platt', 'isotonic'] as const);
  if (o.strict !== undefined) t.strict = c.boolean(o.strict, 'train.strict');
  if (o.streaming !== undefined) t.streaming = c.boolean(o.streaming, 'train.streaming');
  if (o.memory_budget !== undefined) {
    const bytes = parseBytes(o.memory_budget);
    if (bytes === undefined) c.fail('train.memory_budget', `expected a size such as 512MB or 2GB, got ${JSON.stringify(o.memory_budget)}`);
    t.memory_budget = bytes;
  }
  // `early_stopping: false` (or null) turns off the default early stopping.
  if (o.early_stopping === false || o.early_stopping === null) delete t.early_stopping;
  else if (o.early_stopping !== undefined) {
    const e = c.object(o.early_stopping, 'train.early_stopping');
    c.onlyKeys(e, 'train.early_stopping', ['metric', 'patience', 'fallback_metric', 'min_conversions']);
    // Without `metric` the default rule (its fallback included); a metric of one's own has no
    // fallback unless one is given.
    const base: EarlyStoppingConfig = e.metric === undefined ? { ...DEFAULT_EARLY_STOPPING } : { metric: c.string(e.metric, 'train.early_stopping.metric'), patience: DEFAULT_EARLY_STOPPING.patience };
    if (e.patience !== undefined) base.patience = c.positiveInt(e.patience, 'train.early_stopping.patience');
    if (e.fallback_metric !== undefined) {
      base.fallback_metric = c.string(e.fallback_metric, 'train.early_stopping.fallback_metric');
      base.min_conversions ??= DEFAULT_EARLY_STOPPING.min_conversions;
    }
    if (e.min_conversions !== undefined) {
      if (base.fallback_metric === undefined) c.fail('train.early_stopping.min_conversions', 'needs train.early_stopping.fallback_metric (the metric used below that many validation conversions)');
      base.min_conversions = c.positiveInt(e.min_conversions, 'train.early_stopping.min_conversions');
    }
    t.early_stopping = base;
  }
  return t;
}

/**
 * The early-stopping metric must be one validation computes for this schema (a typo used to
 * cost a full epoch before failing): AUC, GAUC or logloss of ctr/ctcvr (action with action
 * labels), the click-space CVR, the entire-space CVR (simulator truth only), or the macro AUCs.
 */
export function earlyStoppingMetrics(schema: Schema): string[] {
  const tasks = ['ctr', 'ctcvr', ...((schema.labels.actions ?? []).length > 0 ? ['action'] : [])];
  const out = [...tasks.flatMap((t) => [`auc_${t}`, `logloss_${t}`]), 'auc_macro', 'auc_cvr_clicked', 'logloss_cvr_clicked'];
  if (schema.group !== undefined) out.push(...tasks.map((t) => `gauc_${t}`), 'gauc_macro');
  if ((schema.truth ?? []).includes('potential_buy')) out.push('auc_cvr_entire_space', 'logloss_cvr_entire_space');
  return out;
}

function checkEarlyStoppingMetric(c: ConfigChecker, t: TrainConfig, schema: Schema): void {
  const es = t.early_stopping;
  if (es === undefined) return;
  const known = earlyStoppingMetrics(schema);
  for (const key of ['metric', 'fallback_metric'] as const) {
    const metric = es[key];
    if (metric !== undefined && !known.includes(metric)) c.fail(`train.early_stopping.${key}`, `unknown metric '${metric}' for this schema; one of ${known.join(', ')}`);
  }
}

function deepMerge(base: unknown, over: Obj): unknown {
  if (Object.keys(over).length === 0) return base;
  const out: Obj = base !== null && typeof base === 'object' && !Array.isArray(base) ? { ...(base as Obj) } : {};
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && cur !== null && typeof cur === 'object' && !Array.isArray(cur)
      ? deepMerge(cur, v as Obj)
      : v;
  }
  return out;
}

/** Resolve a data path relative to the config file's folder. */
export function resolveDataPath(config: EsmmConfig, p: string): string {
  return resolve(config.baseDir, p);
}
