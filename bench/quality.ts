/**
 * Quality benchmark on the ground-truth funnel simulator (issue 13): every model trains with its
 * built-in defaults on the same rows and is scored on the test split against the simulator's
 * truth. Not a test: it prints numbers, one JSON line per (regime, size, seed, model), then a
 * mean +- spread table per (regime, size): entire-space pCVR AUC, clicked-space CVR AUC, CTR and
 * CTCVR AUC, entire-space pCVR calibration (mean predicted / true) and its click-weighted form
 * (src/eval/evaluate.ts says what each one weighs).
 *
 *   node dist/bench/quality.js [--regimes anticorr,sparse,aligned] [--sizes 200000,1000000,5000000]
 *     [--seeds 1,2,3] [--models esmm,esm2,naive_cvr,escm2_dr,aitm] [--tower 128,64] [--epochs N]
 *     [--set train.embedding_optimizer=adam ...] [--per-epoch 5 [--dump DIR]]
 *     [--calibrations none,platt,isotonic,ratio-platt,ratio-isotonic,ips-platt,ips-isotonic,ctr-platt,expected-ctr-platt,expected-isotonic,oracle-isotonic]
 *
 * Regimes (simulator options on top of its defaults):
 * - anticorr: click attractiveness and conversion quality anti-correlated (-0.7, the simulator's
 *   default): the items that get clicked convert worse, the selection bias ESMM targets.
 * - sparse: Ali-CCP-like rates (CTR 2%, CVR 3%), conversion driven by the affinity that also
 *   drives clicks, attractiveness and quality independent.
 * - aligned: attractiveness and quality positively correlated (+0.5), dense funnel.
 * - confounded (not in the default list): anticorr plus a hidden per-impression intent (std 1)
 *   in both the click and the conversion logit. In the three regimes above click and buy are
 *   independent given the features, so p(buy | click, x) = p(buy | x) and a click-space model is
 *   unbiased (it only sees fewer rows where clicks are rare); here an item's buy rate among its
 *   clicks is 2.5x the potential-buy rate over all its impressions (1.2x without the intent, from
 *   the mix of users who click), the selection bias of real shops. No model in
 *   the grid is unbiased for the potential-outcome pCVR then (ESMM's pCTCVR / pCTR is
 *   p(buy | click, x) too); the regime shows how each degrades.
 * `--tower` and `--epochs` exist only to make a reduced grid fit a small machine; leave them out
 * for the defaults. `--set KEY=VALUE` overrides one config key (numbers parsed; a value starting
 * with { or [ is JSON), for comparisons such as the embedding optimizer or an interaction term.
 *
 * `--per-epoch N` (issue 13's "within 0.01 AUC of its own best over epochs 1..N"): each model
 * trains N epochs without early stopping and the test split is scored after every epoch; the
 * default run is replayed from the same run (the config's epochs and early-stopping rule applied
 * to the per-epoch validation metrics, see quality-epochs.ts). It prints, per model, the default's
 * kept epoch and entire-space pCVR AUC, the best epoch and AUC over 1..N, and the gap. Every
 * epoch's test scores include the post-hoc calibration the default would fit if stopped there.
 * `--dump DIR` (with --per-epoch) also writes every epoch's validation and test predictions to
 * DIR/REGIME-ROWS-SEED/ for the offline stopping-rule replay (bench/quality-rules.ts).
 *
 * `--results FILE` makes a long grid resumable (the 5M-row cells take hours on a small machine):
 * every finished (regime, size, seed)'s JSON lines are appended to FILE, and a later run with the
 * same settings (--tower, --epochs, --set, --per-epoch) reuses the ones it finds there instead of
 * training them again; its tables then cover old and new cells alike.
 *
 * `--calibrations LIST`: each model trains once without calibration and each listed post-hoc
 * calibration is fitted on validation and scored on test (quality-calibration.ts); one table per
 * method, plus mean pCTR and mean pCTCVR over their true means, and per model the validation
 * split's buys against the number the simulator expected there (the noise the fit inherits).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/api/load-config.js';
import type { EsmmConfig } from '../src/config/types.js';
import { compareModels } from '../src/api/compare.js';
import type { FlatMetrics } from '../src/eval/evaluate.js';
import { bestEpochBy, replayKeptEpoch, trainPerEpoch } from './quality-epochs.js';
import { CALIBRATION_METHODS, trainAndCalibrate, type CalibrationMethodName } from './quality-calibration.js';
import { REGIMES } from './regimes.js';

/** Columns printed: name in the table, metric key. */
const COLUMNS: [string, string][] = [
  ['pCVR AUC entire', 'auc_cvr_entire_space'],
  ['CVR AUC clicked', 'auc_cvr_clicked'],
  ['CTR AUC', 'auc_ctr'],
  ['CTCVR AUC', 'auc_ctcvr'],
  ['pCVR mean/true', 'calibration_cvr_entire_space'],
  ['click-weighted', 'calibration_cvr_click_weighted'],
];

const { values } = parseArgs({
  options: {
    regimes: { type: 'string', default: 'anticorr,sparse,aligned' },
    sizes: { type: 'string', default: '200000,1000000,5000000' },
    seeds: { type: 'string', default: '1,2,3' },
    models: { type: 'string', default: 'esmm,esm2,naive_cvr,escm2_dr,aitm' },
    tower: { type: 'string' },
    epochs: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
    'per-epoch': { type: 'string' },
    dump: { type: 'string' },
    calibrations: { type: 'string' },
    results: { type: 'string' },
  },
});

const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter((x) => x !== '');
const regimes = list(values.regimes);
for (const r of regimes) if (REGIMES[r] === undefined) throw new Error(`unknown regime ${r}; known: ${Object.keys(REGIMES).join(', ')}`);
const sizes = list(values.sizes).map(Number);
const seeds = list(values.seeds).map(Number);
const models = list(values.models);
const perEpoch = values['per-epoch'] !== undefined ? Number(values['per-epoch']) : undefined;
interface EpochRow { regime: string; rows: number; seed: number; model: string; kept: number; defaultAuc: number; best: number; bestAuc: number; byEpoch: number[] }
const epochRows: EpochRow[] = [];
if (perEpoch !== undefined && !(Number.isInteger(perEpoch) && perEpoch >= 1)) throw new Error(`--per-epoch expects a whole number of epochs, got ${values['per-epoch']}`);
const calibrations = values.calibrations !== undefined ? list(values.calibrations) : undefined;
for (const c of calibrations ?? []) if (!(CALIBRATION_METHODS as readonly string[]).includes(c)) throw new Error(`unknown calibration ${c}; known: ${CALIBRATION_METHODS.join(', ')}`);
if (calibrations !== undefined && perEpoch !== undefined) throw new Error('--calibrations and --per-epoch cannot be combined');
const CALIBRATION_COLUMNS: [string, string][] = [...COLUMNS, ['pCTR mean/true', 'mean_pctr_over_true'], ['pCTCVR mean/true', 'mean_pctcvr_over_true']];

function parseJson(raw: string, assignment: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (e) {
    throw new Error(`--set ${assignment}: the value is not valid JSON (${(e as Error).message})`);
  }
}

/** `a.b.c=v` -> { a: { b: { c: v } } } (v a number when it parses as one, JSON when it starts with { or [). */
function setOverride(target: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq < 0) throw new Error(`--set expects KEY=VALUE, got ${assignment}`);
  const path = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  // JSON objects and arrays (`model.inner_product={"user":["user_id"],"item":["item_id"]}`), then booleans and numbers.
  const value: unknown = /^[[{]/.test(raw) ? parseJson(raw, assignment) : raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  let obj = target;
  for (const k of path.slice(0, -1)) obj = (obj[k] ??= {}) as Record<string, unknown>;
  obj[path[path.length - 1]!] = value;
}

const fmt = (xs: number[]): string => {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (ok.length === 0) return 'n/a';
  const m = ok.reduce((a, b) => a + b, 0) / ok.length;
  const spread = ok.length > 1 ? Math.sqrt(ok.reduce((a, b) => a + (b - m) ** 2, 0) / (ok.length - 1)) : 0;
  return `${m.toFixed(4)} +- ${spread.toFixed(4)}`;
};

/**
 * What makes a saved cell reusable: every setting that changes what a cell computes. Per-epoch
 * cells carry `calibratedEpochs` since their test metrics are post-hoc calibrated after every epoch
 * (quality-epochs.ts); older per-epoch lines, scored uncalibrated, are not reused.
 */
const settings = JSON.stringify({ tower: values.tower ?? null, epochs: values.epochs ?? null, set: values.set, perEpoch: perEpoch ?? null, ...(perEpoch !== undefined ? { calibratedEpochs: true } : {}) });
type SavedLine = Record<string, unknown> & { regime: string; rows: number; seed: number; model: string };
const saved = new Map<string, SavedLine>();
const cellKey = (bench: string, regime: string, rows: number, seed: number, model: string): string => `${bench}|${regime}|${rows}|${seed}|${model}`;
if (values.results !== undefined && existsSync(values.results)) {
  if (calibrations !== undefined) throw new Error('--results does not cover --calibrations');
  readFileSync(values.results, 'utf8').split('\n').forEach((text, i) => {
    if (text.trim() === '') return;
    let line: SavedLine & { bench: string; settings: string };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      throw new Error(`${values.results}: line ${i + 1} is not JSON`);
    }
    if (line.settings === settings) saved.set(cellKey(line.bench, line.regime, line.rows, line.seed, line.model), line);
  });
  console.log(`${values.results}: ${saved.size} saved cells with these settings`);
}
/** Saved lines for every model of one (regime, size, seed), or undefined when any is missing. */
function savedCell(bench: string, regime: string, rows: number, seed: number): SavedLine[] | undefined {
  const lines = models.map((m) => saved.get(cellKey(bench, regime, rows, seed, m)));
  return lines.every((l) => l !== undefined) ? (lines as SavedLine[]) : undefined;
}
/** Print a cell's JSON lines, appending them to --results. */
function emit(lines: Record<string, unknown>[]): void {
  for (const l of lines) console.log(JSON.stringify(l));
  if (values.results === undefined) return;
  mkdirSync(dirname(values.results), { recursive: true });
  appendFileSync(values.results, lines.map((l) => `${JSON.stringify({ ...l, settings })}\n`).join(''));
}

console.log(`quality grid: regimes ${regimes.join(',')}; sizes ${sizes.join(',')}; seeds ${seeds.join(',')}; models ${models.join(',')}` +
  `${values.tower !== undefined ? `; tower ${values.tower}` : ''}${values.epochs !== undefined ? `; epochs ${values.epochs}` : ''}${values.set.length > 0 ? `; set ${values.set.join(' ')}` : ''}`);
for (const regime of regimes) {
  for (const rows of sizes) {
    const cells: Record<string, FlatMetrics[]> = {};
    /** --calibrations: per model, the validation split's buys and the two inverse-propensity readings per seed. */
    const levels: Record<string, string[][]> = {};
    for (const seed of seeds) {
      const overrides: Record<string, unknown> = {
        data: { synth: { rows, seed, ...REGIMES[regime] } },
        train: { seed, ...(values.epochs !== undefined ? { epochs: Number(values.epochs) } : {}) },
        ...(values.tower !== undefined ? { model: { tower: list(values.tower).map(Number) } } : {}),
      };
      for (const s of values.set) setOverride(overrides, s);
      const config = loadConfig('esmm', overrides);
      if (perEpoch !== undefined) {
        await perEpochCell(config, regime, rows, seed, perEpoch, cells);
        continue;
      }
      if (calibrations !== undefined) {
        for (const r of await trainAndCalibrate(config, models, calibrations as CalibrationMethodName[])) {
          (levels[r.model] ??= []).push([String(seed), String(r.validBuys), r.validExpectedBuys.toFixed(1), r.ipsTrueOverTrue.toFixed(2), r.ipsModelOverTrue.toFixed(2)]);
          console.log(JSON.stringify({ bench: 'quality-calibration-valid', regime, rows, seed, model: r.model, valid_buys: r.validBuys, valid_expected_buys: Number(r.validExpectedBuys.toFixed(1)),
            ips_true_pctr_mean_cvr_over_true: Number(r.ipsTrueOverTrue.toFixed(3)), ips_model_pctr_mean_cvr_over_true: Number(r.ipsModelOverTrue.toFixed(3)) }));
          for (const c of calibrations) {
            (cells[`${r.model} ${c}`] ??= []).push(r.test[c]!);
            console.log(JSON.stringify({
              bench: 'quality-calibration', regime, rows, seed, model: r.model, calibration: c, seconds: Math.round(r.seconds),
              ...Object.fromEntries(CALIBRATION_COLUMNS.map(([, k]) => [k, r.test[c]![k]])),
            }));
          }
        }
        continue;
      }
      const reuse = savedCell('quality', regime, rows, seed);
      if (reuse !== undefined) {
        console.log(`reused ${regime} ${rows} seed ${seed} from ${values.results}`);
        for (const l of reuse) (cells[l.model] ??= []).push(Object.fromEntries(COLUMNS.map(([, k]) => [k, (l[k] as number | null) ?? Number.NaN])));
        continue;
      }
      const r = await compareModels(config, models, {});
      const lines: Record<string, unknown>[] = [];
      for (const m of models) {
        const metrics = r.metrics[m]!;
        (cells[m] ??= []).push(metrics);
        lines.push({
          bench: 'quality', regime, rows, seed, model: m, seconds: Math.round(r.seconds[m]!), evaluated_on: r.evaluatedOn,
          ...Object.fromEntries(COLUMNS.map(([, k]) => [k, metrics[k]])),
        });
      }
      emit(lines);
    }
    console.log(`\nregime ${regime}, ${rows} impressions, seeds ${seeds.join(',')} (mean +- std over seeds, test split)`);
    const columns = calibrations !== undefined ? CALIBRATION_COLUMNS : COLUMNS;
    const header = ['model', ...columns.map(([t]) => t)];
    const body = Object.keys(cells).map((m) => [m, ...columns.map(([, k]) => fmt(cells[m]!.map((x) => x[k] ?? Number.NaN)))]);
    printTable(header, body);
    if (calibrations !== undefined) {
      console.log('\nvalidation split: buys, and its entire-space mean CVR estimated as sum(buy / pCTR) / rows, over the truth');
      printTable(['model', 'seed', 'buys', 'expected', "with true pCTR", "with model pCTR'"], Object.entries(levels).flatMap(([m, ls]) => ls.map((l) => [m, ...l])));
    }
    if (perEpoch !== undefined) {
      console.log(`\nper epoch (entire-space pCVR AUC on test): the default's kept epoch against the best of epochs 1..${perEpoch}`);
      const eh = ['model', 'seed', 'kept', 'default', 'best epoch', 'best', 'gap', 'by epoch'];
      printTable(eh, epochRows.filter((r) => r.regime === regime && r.rows === rows).map((r) => [
        r.model, String(r.seed), String(r.kept), r.defaultAuc.toFixed(4), String(r.best), r.bestAuc.toFixed(4), (r.bestAuc - r.defaultAuc).toFixed(4), r.byEpoch.map((x) => x.toFixed(3)).join(' '),
      ]));
      printSeedMeans(epochRows.filter((r) => r.regime === regime && r.rows === rows));
    }
    console.log('');
  }
}

/**
 * The same rule read on a cell's seed means: the mean default AUC against the best epoch of the
 * per-epoch means (a fixed number of epochs, chosen once for all seeds). Per seed, the table above
 * also counts the noise of a validation split with a few dozen conversions picking the epoch.
 */
function printSeedMeans(rows: EpochRow[]): void {
  const models = [...new Set(rows.map((r) => r.model))];
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  let seedMisses = 0;
  let cellMisses = 0;
  const body = models.map((m) => {
    const rs = rows.filter((r) => r.model === m);
    seedMisses += rs.filter((r) => r.bestAuc - r.defaultAuc > 0.01).length;
    const byEpoch = rs[0]!.byEpoch.map((_, e) => mean(rs.map((r) => r.byEpoch[e]!)));
    const def = mean(rs.map((r) => r.defaultAuc));
    const best = Math.max(...byEpoch);
    if (best - def > 0.01) cellMisses++;
    return [m, String(rs.length), def.toFixed(4), String(byEpoch.indexOf(best) + 1), best.toFixed(4), (best - def).toFixed(4), byEpoch.map((x) => x.toFixed(3)).join(' ')];
  });
  console.log('\nmeans over seeds: the default against the best fixed epoch');
  printTable(['model', 'seeds', 'default', 'best epoch', 'best', 'gap', 'by epoch'], body);
  console.log(`more than 0.01 below the best: ${seedMisses} of ${rows.length} runs, ${cellMisses} of ${models.length} seed means`);
}

function printTable(header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  for (const line of [header, ...body]) console.log(line.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}

/** One (regime, size, seed) in --per-epoch mode: the default's metrics replayed from an N-epoch run, plus the per-epoch record. */
async function perEpochCell(config: EsmmConfig, regime: string, rows: number, seed: number, epochs: number, cells: Record<string, FlatMetrics[]>): Promise<void> {
  if (epochs < config.train.epochs) throw new Error(`--per-epoch ${epochs} is fewer than the default's ${config.train.epochs} epochs`);
  const VALID_KEYS = ['logloss_ctr', 'logloss_ctcvr', 'logloss_cvr_clicked', 'auc_ctr', 'auc_ctcvr', 'auc_cvr_clicked', 'auc_macro'];
  const TEST_KEYS = ['auc_cvr_entire_space', 'auc_cvr_clicked', 'auc_ctr', 'auc_ctcvr', 'calibration_cvr_entire_space', 'calibration_cvr_click_weighted', 'logloss_ctr', 'logloss_ctcvr'];
  const dump = values.dump !== undefined ? join(values.dump, `${regime}-${rows}-${seed}`) : undefined;
  const reuse = dump === undefined ? savedCell('quality-epochs', regime, rows, seed) : undefined;
  if (reuse !== undefined) {
    console.log(`reused ${regime} ${rows} seed ${seed} from ${values.results}`);
    for (const l of reuse) {
      const metrics = Object.fromEntries(Object.entries(l.default as Record<string, number | null>).map(([k, v]) => [k, v ?? Number.NaN]));
      (cells[l.model] ??= []).push(metrics);
      const byEpoch = (l.epochs as { test: Record<string, number | null> }[]).map((e) => e.test.auc_cvr_entire_space ?? Number.NaN);
      const kept = l.kept_epoch as number;
      const best = l.best_epoch as number;
      epochRows.push({ regime, rows, seed, model: l.model, kept, defaultAuc: byEpoch[kept - 1]!, best, bestAuc: byEpoch[best - 1]!, byEpoch });
    }
    return;
  }
  const lines: Record<string, unknown>[] = [];
  for (const r of await trainPerEpoch(config, models, epochs, dump)) {
    const kept = replayKeptEpoch(r.epochs, config.train.epochs, config.train.early_stopping);
    const best = bestEpochBy(r.epochs, 'auc_cvr_entire_space');
    const metrics = r.epochs[kept - 1]!.test;
    (cells[r.model] ??= []).push(metrics);
    const byEpoch = r.epochs.map((e) => e.test.auc_cvr_entire_space ?? Number.NaN);
    epochRows.push({ regime, rows, seed, model: r.model, kept, defaultAuc: byEpoch[kept - 1]!, best, bestAuc: byEpoch[best - 1]!, byEpoch });
    const pick = (m: FlatMetrics, keys: string[]): Record<string, number | undefined> => Object.fromEntries(keys.map((k) => [k, m[k]]));
    lines.push({
      bench: 'quality-epochs', regime, rows, seed, model: r.model, seconds: Math.round(r.seconds), kept_epoch: kept, best_epoch: best,
      default: pick(metrics, TEST_KEYS),
      epochs: r.epochs.map((e) => ({ epoch: e.epoch, valid: pick(e.valid, VALID_KEYS), test: pick(e.test, TEST_KEYS) })),
    });
  }
  emit(lines);
}
