import { join } from 'node:path';
import { readConfigFile } from '../../api/load-config.js';
import { resolveTrainingConfig } from '../../api/resolve-config.js';
import { checkTuneOutDir, formatSeconds, parseDuration, parseSearchSpace, requireValidation, tuneModel, TUNE_METRIC, type TrialRecord, type TrialSettings } from '../../api/tune.js';
import { UserError } from '../../errors.js';
import type { TrainProgress } from '../../train/progress.js';
import { intFlag, log, numberFlag } from '../args.js';
import { defineCommand, parseCommand } from '../flags.js';
import { showProgress, TrainTicker } from '../progress-line.js';
import { configOverrides } from '../overrides.js';

export const TUNE_SPEC = defineCommand({
  name: 'tune',
  summary: 'search learning rates, L2, dropout, sizes and epochs on validation; writes DIR/best.yaml',
  usage: ['tune --config FILE|NAME [--budget 20m] [--trials N] [--seed S] [--out DIR]'],
  description:
    `Search learning rate, embedding learning rate, embedding L2, dropout, embedding dimension, tower sizes and epochs, scoring each trial on the validation split's ${TUNE_METRIC} (data.valid, or the rows held out by data.holdout). ` +
    'The data is read and the features fitted once. With 8 or more trials the search is successive halving (all configs on a slice of the rows for one epoch, the better half go on); with fewer, random search.\n\n' +
    'A tune: section in the config replaces parts of the search space, e.g. tune: { learning_rate: [1e-4, 1e-2], dropout: [0, 0.1], tower: [[128, 64]] } (keys: learning_rate, embedding_learning_rate, embedding_l2, dropout, embedding_dim, tower, epochs).\n\n' +
    'No trial is started whose estimated end is past the budget. DIR/best.yaml is a complete config for esmm train --config; DIR/trials.json lists every trial.',
  flags: {
    config: { type: 'string', value: 'FILE|NAME', default: 'required', help: 'a YAML/JSON config file or a built-in config; it needs validation data' },
    budget: { type: 'string', value: 'TIME', default: '20m', help: 'wall-clock budget of the whole search (reading the data included), e.g. 90s, 20m, 1h' },
    trials: { type: 'string', value: 'N', default: '16', help: "configurations to try: the config's own settings and N-1 sampled" },
    seed: { type: 'string', value: 'S', default: "the config's train.seed", help: 'seed of the search (same seed, same trial settings)' },
    strategy: { type: 'string', value: 'NAME', default: 'auto', help: 'auto (halving from 8 trials), random or halving' },
    out: { type: 'string', value: 'DIR', default: 'runs/tune', help: 'where best.yaml and trials.json are written' },
    rows: { type: 'string', value: 'N', default: "the config's data.synth.rows", help: 'impressions to simulate, for configs whose data is the simulator' },
    quiet: { type: 'boolean', help: 'no progress line inside a trial on stderr (the per-trial lines stay)' },
  },
  examples: ['tune --config esmm --budget 20m --out runs/tune', 'tune --config my.yaml --trials 8 --seed 3 --budget 5m'],
});

/** esmm tune: see TUNE_SPEC. */
export async function tuneCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(TUNE_SPEC, argv);
  if (parsed === undefined) return 0;
  const { values } = parsed;
  if (values.config === undefined) throw new UserError('missing --config');
  const budget = parseDuration(values.budget ?? '20m');
  if (budget === undefined) throw new UserError(`--budget expects a duration such as 90s, 20m or 1h, got '${values.budget}'`);
  const trials = intFlag('tune', values.trials, 'trials') ?? 16;
  const seed = numberFlag('tune', values.seed, 'seed');
  const strategy = values.strategy ?? 'auto';
  if (strategy !== 'auto' && strategy !== 'random' && strategy !== 'halving') throw new UserError(`--strategy expects auto, random or halving, got '${strategy}'`);
  const outDir = values.out ?? join('runs', 'tune');
  // Outputs are checked before any work.
  checkTuneOutDir(outDir);
  const { value, file, baseDir } = readConfigFile(values.config, configOverrides('tune', { rows: values.rows }));
  const space = parseSearchSpace((value as { tune?: unknown } | null)?.tune, file);
  const config = await resolveTrainingConfig(value, file, baseDir, { log });
  requireValidation(config);
  const ticker = new TrainTicker();
  const result = await tuneModel(config, {
    budgetSeconds: budget,
    trials,
    ...(seed !== undefined ? { seed } : {}),
    strategy,
    space,
    outDir,
    rawConfig: value,
    log,
    ...(values.quiet === true ? {} : { onProgress: (p: TrainProgress) => showProgress(ticker.line(p)) }),
    onTrial: (t, p) => log(`trial ${String(p.done).padStart(2)}/${p.planned} ${trialLabel(t)}  ${TUNE_METRIC} ${t.score?.toFixed(5) ?? 'n/a'}  ${formatSeconds(t.seconds)}  [${formatSeconds(p.elapsed)} of ${formatSeconds(p.budget)}${p.eta !== undefined && p.eta > 0 ? `, eta ${formatSeconds(p.eta)}` : ''}]`),
  });
  process.stdout.write(`${leaderboard(result.trials, result.best)}\n`);
  if (result.best === undefined) throw new UserError('no trial finished with a finite validation score; nothing written');
  log(`${result.trials.length} trials in ${formatSeconds(result.seconds)}${result.stoppedByBudget ? ' (stopped by the budget)' : ''}; best: trial ${result.best.trial}, valid ${TUNE_METRIC} ${result.best.score!.toFixed(5)}${result.best.full_fidelity ? '' : ` (on ${result.best.rows.toLocaleString('en-US')} rows, 1 epoch: no trial reached full size within the budget)`}`);
  log(`best config written to ${join(outDir, 'best.yaml')} (train it with: esmm train --config ${join(outDir, 'best.yaml')}); every trial in ${join(outDir, 'trials.json')}`);
  return 0;
}

/** "lr 1.2e-3 elr 2.0e-2 l2 1e-5 do 0.1 dim 18 tower 128x64 ep 2" (what a trial tried). */
function settingsLabel(s: TrialSettings): string {
  return `lr ${s.learning_rate.toExponential(1)} elr ${s.embedding_learning_rate.toExponential(1)} l2 ${s.embedding_l2 === 0 ? '0' : s.embedding_l2.toExponential(0)} do ${s.dropout} dim ${s.embedding_dim} tower ${s.tower.join('x')} ep ${s.epochs}`;
}

function trialLabel(t: TrialRecord): string {
  return `${t.from_config ? '(config) ' : ''}${settingsLabel(t.settings)}${t.full_fidelity ? '' : ` (rung ${t.rung}: ${t.rows.toLocaleString('en-US')} rows, ${t.epochs} ep)`}`;
}

/** The trials sorted by rung (highest first) then score: at most 100 columns wide. */
export function leaderboard(trials: TrialRecord[], best: TrialRecord | undefined): string {
  const rows = [...trials].sort((a, b) => b.rung - a.rung || (a.score ?? Infinity) - (b.score ?? Infinity) || a.trial - b.trial);
  const head = ['#', 'trial', 'rung', 'lr', 'emb_lr', 'emb_l2', 'drop', 'dim', 'tower', 'ep', 'rows', TUNE_METRIC, 'auc_ctcvr', 'sec'];
  const cells = rows.map((t, i) => [
    `${i + 1}${t === best ? '*' : ''}`,
    `${t.trial}${t.from_config ? 'c' : ''}`,
    String(t.rung),
    t.settings.learning_rate.toExponential(1),
    t.settings.embedding_learning_rate.toExponential(1),
    t.settings.embedding_l2 === 0 ? '0' : t.settings.embedding_l2.toExponential(0),
    String(t.settings.dropout),
    String(t.settings.embedding_dim),
    t.settings.tower.join('x'),
    t.kept_epoch === t.epochs ? String(t.epochs) : `${t.kept_epoch}/${t.epochs}`,
    compactRows(t.rows),
    t.score === null ? 'n/a' : t.score.toFixed(5),
    t.metrics.auc_ctcvr === undefined ? '' : t.metrics.auc_ctcvr.toFixed(4),
    t.seconds.toFixed(1),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((v, c) => (c === 8 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join(' ').trimEnd();
  return [line(head), ...cells.map(line), '* best (lowest valid logloss at the highest fidelity reached); c: the config as given',
    'ep k/n: early stopping kept the weights of epoch k of n'].join('\n');
}

function compactRows(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${Math.round(n / 1e3)}k` : String(n);
}
