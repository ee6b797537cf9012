/**
 * Offline replay of stopping rules on the per-epoch predictions that
 * `bench/quality.js --per-epoch N --dump DIR` writes (issue 13: "every model within 0.01 AUC of its
 * own best over epochs 1..N"). One N-epoch run per (regime, size, seed, model) serves every rule:
 * a rule sees only the validation split's per-epoch predictions and picks the epoch whose pCTR
 * and the epoch whose pCVR are kept (the same epoch for a global rule); the test split then scores
 * the pick. Test data never reaches a rule.
 *
 *   node dist/bench/quality-rules.js --dump DIR [--detail RULE] [--tolerance 0.01]
 *
 * Rules (E = the most epochs the run may take; patience as in train/early-stopping.ts, first best
 * wins):
 * - es:METRIC:pP:eE: global early stopping on validation METRIC (one epoch kept for all towers);
 * - tower:pP:eE: per-tower best snapshot: pCTR from the epoch with the best validation
 *   logloss_ctr, pCVR from the epoch with the best validation logloss_cvr_clicked (the run stops
 *   when neither improved for P epochs); the kept pCTCVR is pCTR(a) x pCVR(b), which is what a
 *   model that keeps each tower (and the embedding rows it reads) from its own epoch predicts;
 * - tower-ctcvr:pP:eE: pCTR as above, pCVR from the epoch b minimising the validation CTCVR
 *   logloss of pCTR(a) x pCVR(b);
 * - es:METRIC-if-30-buys-else-FALLBACK:pP:eE: global early stopping on METRIC when the validation
 *   split holds at least 30 conversions, else on FALLBACK (the default rule is the one with
 *   logloss_cvr_clicked and logloss_ctcvr; auc_cvr_clicked, a ranking metric that calibration drift
 *   does not move, is one alternative; logloss_cvr_clicked_recal, the clicked-space logloss after a
 *   Platt fit on the same rows, another);
 * - es-smoothed:METRIC:pP:eE: as es:, but keeping the epoch whose metric averaged with its
 *   neighbours among the epochs run is best.
 * - es-paired-zZ:pP:eE: the default rule's metrics and patience, but keeping the latest epoch run
 *   that is not worse than the best by more than Z standard errors of the paired per-row loss
 *   difference (later epochs win ties that the validation split cannot resolve). Replayed in
 *   session 26 on the 200k dumps (60 cells) and 1M dumps (45 cells) of session 24: z 0.5 missed
 *   5/60 and 3/45 against the default's 3/60 and 4/45; z 1 17/60 and 5/45; z 2 38/60 and 11/45.
 *   At 200k the epochs after the best are worse, not tied, so the default stays.
 * The "own best" of a cell is the best test entire-space pCVR AUC over single epochs 1..N.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { auc } from '../src/metrics/auc.js';
import { logloss } from '../src/metrics/logloss.js';
import { applyCalibratorAll, fitPlatt } from '../src/models/calibration/calibrator.js';

const { values } = parseArgs({
  options: {
    dump: { type: 'string' },
    detail: { type: 'string', multiple: true, default: [] },
    tolerance: { type: 'string', default: '0.01' },
  },
});
if (values.dump === undefined) throw new Error('--dump DIR is required (the --dump of bench/quality.js --per-epoch)');
const dumpRoot = values.dump;
const tolerance = Number(values.tolerance);

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

interface Split { click: Float32Array; buy: Float32Array; potential?: Float32Array }
interface EpochPred { pctr: Float32Array; pcvr: Float32Array; pctcvr: Float32Array }
interface Cell { regime: string; rows: number; seed: number; model: string; valid: EpochPred[]; test: EpochPred[] }

function loadSplit(dir: string, split: string): Split {
  const potential = join(dir, `${split}-potential_buy.f32`);
  return {
    click: readF32(join(dir, `${split}-click.f32`)),
    buy: readF32(join(dir, `${split}-buy.f32`)),
    ...(existsSync(potential) ? { potential: readF32(potential) } : {}),
  };
}

function loadPred(dir: string, prefix: string): EpochPred {
  return { pctr: readF32(join(dir, `${prefix}-pctr.f32`)), pcvr: readF32(join(dir, `${prefix}-pcvr.f32`)), pctcvr: readF32(join(dir, `${prefix}-pctcvr.f32`)) };
}

/** Buy labels and pCVR of the clicked rows: the click space the validation CVR metrics are computed on. */
function clickedRows(s: Split, pcvr: Float32Array): { y: Float32Array; p: Float32Array } {
  const y: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < s.click.length; i++) if (s.click[i] === 1) { y.push(s.buy[i]!); p.push(pcvr[i]!); }
  return { y: Float32Array.from(y), p: Float32Array.from(p) };
}

/** Click-space logloss of pCVR (the validation metric logloss_cvr_clicked). */
function cvrClickedLogloss(s: Split, pcvr: Float32Array): number {
  const { y, p } = clickedRows(s, pcvr);
  return logloss(y, p);
}

/** Click-space AUC of pCVR (the validation metric auc_cvr_clicked). */
function cvrClickedAuc(s: Split, pcvr: Float32Array): number {
  const { y, p } = clickedRows(s, pcvr);
  return auc(y, p);
}

/**
 * Click-space logloss of pCVR after a Platt fit on the same clicked rows: what is left once pCVR's
 * level and scale are set right (post-hoc calibration does that after training), so a drift in
 * the level alone does not count against an epoch.
 */
function cvrClickedRecalibratedLogloss(s: Split, pcvr: Float32Array): number {
  const { y, p } = clickedRows(s, pcvr);
  return logloss(y, applyCalibratorAll(fitPlatt(p, y), p));
}

const product = (a: Float32Array, b: Float32Array): Float32Array => Float32Array.from(a, (x, i) => x * b[i]!);

/** Validation metrics one epoch's predictions give (lower is better for every logloss). */
interface ValidScores { logloss_ctr: number; logloss_ctcvr: number; logloss_cvr_clicked: number; auc_ctcvr: number; auc_cvr_clicked: number; logloss_cvr_clicked_recal: number }
function validScores(s: Split, p: EpochPred): ValidScores {
  return {
    logloss_ctr: logloss(s.click, p.pctr), logloss_ctcvr: logloss(s.buy, p.pctcvr), logloss_cvr_clicked: cvrClickedLogloss(s, p.pcvr),
    auc_ctcvr: auc(s.buy, p.pctcvr), auc_cvr_clicked: cvrClickedAuc(s, p.pcvr), logloss_cvr_clicked_recal: cvrClickedRecalibratedLogloss(s, p.pcvr),
  };
}

/** Early stopping as train/early-stopping.ts runs it: the epochs run and the first-best epoch of each tracked series. */
function patienceRun(series: number[][], patience: number, maxEpochs: number, lowerIsBetter: boolean[]): { run: number; best: number[] } {
  const n = Math.min(maxEpochs, series[0]!.length);
  const best = series.map(() => -1);
  const since = series.map(() => 0);
  let run = 0;
  for (let e = 0; e < n; e++) {
    run = e + 1;
    series.forEach((s, k) => {
      const better = best[k]! < 0 || (lowerIsBetter[k] ? s[e]! < s[best[k]!]! : s[e]! > s[best[k]!]!);
      if (better) { best[k] = e; since[k] = 0; } else since[k]!++;
    });
    if (since.every((x) => x >= patience)) break;
  }
  return { run, best: best.map((b) => b + 1) };
}

interface Pick { ctr: number; cvr: number; run: number }
interface Rule { name: string; pick: (v: ValidScores[], cell: Cell, valid: Split) => Pick }

function esRule(metric: keyof ValidScores, patience: number, maxEpochs: number): Rule {
  return {
    name: `es:${metric}:p${patience}:e${maxEpochs}`,
    pick: (v) => {
      const r = patienceRun([v.map((x) => x[metric])], patience, maxEpochs, [metric.startsWith('logloss')]);
      return { ctr: r.best[0]!, cvr: r.best[0]!, run: r.run };
    },
  };
}

function towerRule(patience: number, maxEpochs: number): Rule {
  return {
    name: `tower:p${patience}:e${maxEpochs}`,
    pick: (v) => {
      const r = patienceRun([v.map((x) => x.logloss_ctr), v.map((x) => x.logloss_cvr_clicked)], patience, maxEpochs, [true, true]);
      return { ctr: r.best[0]!, cvr: r.best[1]!, run: r.run };
    },
  };
}

/** pCTR by validation CTR logloss; pCVR from the epoch (among those run) whose pCVR, times the kept pCTR, has the lowest validation CTCVR logloss. */
function towerCtcvrRule(patience: number, maxEpochs: number): Rule {
  return {
    name: `tower-ctcvr:p${patience}:e${maxEpochs}`,
    pick: (v, cell, valid) => {
      const r = patienceRun([v.map((x) => x.logloss_ctr), v.map((x) => x.logloss_ctcvr)], patience, maxEpochs, [true, true]);
      const a = r.best[0]!;
      let b = 1;
      let bestLoss = Infinity;
      for (let e = 1; e <= r.run; e++) {
        const l = logloss(valid.buy, product(cell.valid[a - 1]!.pctr, cell.valid[e - 1]!.pcvr));
        if (l < bestLoss) { bestLoss = l; b = e; }
      }
      return { ctr: a, cvr: b, run: r.run };
    },
  };
}

/**
 * Global early stopping on validation logloss_cvr_clicked when the validation split holds at least
 * `minBuys` conversions, else on logloss_ctcvr (a click-space loss on a dozen conversions is noise).
 */
function hybridRule(minBuys: number, patience: number, maxEpochs: number, metric: keyof ValidScores = 'logloss_cvr_clicked', fallback: keyof ValidScores = 'logloss_ctcvr'): Rule {
  const tag = metric === 'logloss_cvr_clicked' && fallback === 'logloss_ctcvr' ? 'cvr_clicked' : `${metric}`;
  return {
    name: `es:${tag}-if-${minBuys}-buys-else-${fallback === 'logloss_ctcvr' ? 'ctcvr' : fallback}:p${patience}:e${maxEpochs}`,
    pick: (v, cell, valid) => {
      const buys = valid.buy.reduce((a, b) => a + b, 0);
      return esRule(buys >= minBuys ? metric : fallback, patience, maxEpochs).pick(v, cell, valid);
    },
  };
}

/** tower:pP:eE, with the pCVR tower judged on logloss_ctcvr (as a global epoch) when validation has fewer than `minBuys` conversions. */
function hybridTowerRule(minBuys: number, patience: number, maxEpochs: number): Rule {
  return {
    name: `tower-if-${minBuys}-buys:p${patience}:e${maxEpochs}`,
    pick: (v, cell, valid) => {
      const buys = valid.buy.reduce((a, b) => a + b, 0);
      const cvrKey: keyof ValidScores = buys >= minBuys ? 'logloss_cvr_clicked' : 'logloss_ctcvr';
      const r = patienceRun([v.map((x) => x.logloss_ctr), v.map((x) => x[cvrKey])], patience, maxEpochs, [true, true]);
      return { ctr: r.best[0]!, cvr: r.best[1]!, run: r.run };
    },
  };
}

/**
 * Global early stopping on validation METRIC (patience on the raw series decides how many epochs
 * run), keeping the epoch whose metric averaged with its run neighbours (e-1, e, e+1) is best: a
 * one-epoch dip of validation noise then moves the pick less.
 */
function smoothedRule(metric: keyof ValidScores, patience: number, maxEpochs: number): Rule {
  return {
    name: `es-smoothed:${metric}:p${patience}:e${maxEpochs}`,
    pick: (v) => {
      const raw = v.map((x) => x[metric]);
      const { run } = patienceRun([raw], patience, maxEpochs, [metric.startsWith('logloss')]);
      const sign = metric.startsWith('logloss') ? 1 : -1;
      let pick = 1;
      let bestScore = Infinity;
      for (let e = 0; e < run; e++) {
        const window = raw.slice(Math.max(0, e - 1), Math.min(run, e + 2));
        const score = sign * window.reduce((a, b) => a + b, 0) / window.length;
        if (score < bestScore) { bestScore = score; pick = e + 1; }
      }
      return { ctr: pick, cvr: pick, run };
    },
  };
}

/** Per-row binary cross-entropy (as metrics/logloss.ts, clamped the same way). */
function rowLosses(y: Float32Array, p: Float32Array): Float64Array {
  const eps = 1e-7;
  return Float64Array.from(y, (t, i) => {
    const q = Math.min(1 - eps, Math.max(eps, p[i]!));
    return -(t * Math.log(q) + (1 - t) * Math.log(1 - q));
  });
}

/**
 * The default rule (logloss_cvr_clicked with at least `minBuys` validation conversions, else
 * logloss_ctcvr; patience on the mean decides how many epochs run), keeping the latest epoch run
 * whose mean loss exceeds the best epoch's by less than z standard errors of the per-row
 * difference: where the validation split cannot tell two epochs apart, the later one is kept.
 */
function pairedRule(z: number, minBuys: number, patience: number, maxEpochs: number): Rule {
  return {
    name: `es-paired-z${z}:p${patience}:e${maxEpochs}`,
    pick: (v, cell, valid) => {
      const buys = valid.buy.reduce((a, b) => a + b, 0);
      const clicked = buys >= minBuys;
      const metric: keyof ValidScores = clicked ? 'logloss_cvr_clicked' : 'logloss_ctcvr';
      const { run, best } = patienceRun([v.map((x) => x[metric])], patience, maxEpochs, [true]);
      const losses = cell.valid.slice(0, run).map((p) => {
        if (!clicked) return rowLosses(valid.buy, p.pctcvr);
        const { y, p: q } = clickedRows(valid, p.pcvr);
        return rowLosses(y, q);
      });
      const b = losses[best[0]! - 1]!;
      let pick = best[0]!;
      for (let e = best[0]!; e < run; e++) {
        const l = losses[e]!;
        let sum = 0, sq = 0;
        for (let i = 0; i < l.length; i++) { const d = l[i]! - b[i]!; sum += d; sq += d * d; }
        const m = sum / l.length;
        const se = Math.sqrt(Math.max(0, sq / l.length - m * m) / l.length);
        if (m <= z * se) pick = e + 1;
      }
      return { ctr: pick, cvr: pick, run };
    },
  };
}

const RULES: Rule[] = [
  esRule('logloss_ctcvr', 1, 2), // today's default: built-in configs train 2 epochs, logloss_ctcvr, patience 1
  esRule('logloss_ctcvr', 1, 5),
  esRule('logloss_ctcvr', 2, 5),
  esRule('logloss_cvr_clicked', 1, 2),
  esRule('logloss_cvr_clicked', 1, 5),
  esRule('logloss_cvr_clicked', 2, 5),
  esRule('logloss_cvr_clicked', 5, 5), // no early stop: 5 epochs, the best by validation kept
  esRule('auc_ctcvr', 1, 5),
  towerRule(1, 2),
  towerRule(1, 5),
  towerRule(2, 5),
  towerRule(5, 5),
  towerCtcvrRule(1, 5),
  towerCtcvrRule(2, 5),
  hybridRule(30, 1, 2),
  hybridRule(30, 1, 5),
  hybridRule(30, 2, 5),
  hybridRule(30, 2, 3),
  hybridRule(30, 2, 4),
  hybridTowerRule(30, 1, 2),
  hybridTowerRule(30, 2, 5),
  esRule('auc_cvr_clicked', 1, 2),
  hybridRule(30, 1, 2, 'auc_cvr_clicked'),
  hybridRule(30, 1, 2, 'auc_cvr_clicked', 'auc_ctcvr'),
  hybridRule(30, 1, 3, 'auc_cvr_clicked'),
  hybridRule(30, 2, 3, 'auc_cvr_clicked'),
  hybridRule(30, 1, 2, 'logloss_cvr_clicked_recal'),
  hybridRule(30, 1, 3, 'logloss_cvr_clicked_recal'),
  hybridRule(30, 2, 5, 'logloss_cvr_clicked_recal'),
  hybridRule(30, 2, 5, 'auc_cvr_clicked'),
  smoothedRule('logloss_cvr_clicked', 2, 5),
  smoothedRule('logloss_ctcvr', 2, 5),
  pairedRule(0.5, 30, 2, 5),
  pairedRule(1, 30, 2, 5),
  pairedRule(2, 30, 2, 5),
  pairedRule(1, 30, 3, 5),
];

interface Scored { rule: string; cell: Cell; pick: Pick; cvr: number; ctr: number; ctcvr: number; own: number; ownEpoch: number; gap: number }

const cells: { cell: Cell; valid: Split; test: Split }[] = [];
for (const sub of readdirSync(dumpRoot).sort()) {
  const m = /^(.+)-(\d+)-(\d+)$/.exec(sub);
  if (m === null) continue;
  const dir = join(dumpRoot, sub);
  const valid = loadSplit(dir, 'valid');
  const test = loadSplit(dir, 'test');
  if (test.potential === undefined) throw new Error(`${dir}: no test-potential_buy.f32 (entire-space pCVR AUC needs the simulator's truth)`);
  const files = readdirSync(dir);
  const models = [...new Set(files.map((f) => /^(.+)-e(\d+)-test-pcvr\.f32$/.exec(f)?.[1]).filter((x): x is string => x !== undefined))];
  for (const model of models) {
    const epochs = files.filter((f) => f.startsWith(`${model}-e`) && f.endsWith('-test-pcvr.f32')).length;
    // A cell whose run is still being written (fewer epochs than the others) is left out.
    if (!files.includes(`${model}-e${epochs}-valid-pcvr.f32`)) continue;
    const cell: Cell = { regime: m[1]!, rows: Number(m[2]), seed: Number(m[3]), model, valid: [], test: [] };
    for (let e = 1; e <= epochs; e++) {
      cell.valid.push(loadPred(dir, `${model}-e${e}-valid`));
      cell.test.push(loadPred(dir, `${model}-e${e}-test`));
    }
    cells.push({ cell, valid, test });
  }
}
const maxEpochs = Math.max(...cells.map((c) => c.cell.test.length));
const complete = cells.filter((c) => c.cell.test.length === maxEpochs);
console.log(`stopping-rule replay: ${complete.length} cells (${cells.length - complete.length} with fewer epochs left out) from ${dumpRoot}, own best over epochs 1..${maxEpochs}, tolerance ${tolerance}`);

const scored: Scored[] = [];
for (const { cell, valid, test } of complete) {
  const v = cell.valid.map((p) => validScores(valid, p));
  const byEpoch = cell.test.map((p) => auc(test.potential!, p.pcvr));
  let ownEpoch = 1;
  byEpoch.forEach((x, i) => { if (x > byEpoch[ownEpoch - 1]!) ownEpoch = i + 1; });
  const own = byEpoch[ownEpoch - 1]!;
  for (const rule of RULES) {
    const pick = rule.pick(v, cell, valid);
    const a = cell.test[pick.ctr - 1]!;
    const b = cell.test[pick.cvr - 1]!;
    const pctcvr = pick.ctr === pick.cvr ? a.pctcvr : product(a.pctr, b.pcvr);
    const cvr = byEpoch[pick.cvr - 1]!;
    scored.push({ rule: rule.name, cell, pick, cvr, ctr: auc(test.click, a.pctr), ctcvr: auc(test.buy, pctcvr), own, ownEpoch, gap: own - cvr });
  }
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const sd = (xs: number[]): number => (xs.length > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1)) : 0);
const seeds = [...new Set(complete.map((c) => c.cell.seed))].sort((x, y) => x - y);
const base = RULES[0]!.name;

function table(header: string[], body: string[][]): void {
  const w = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  for (const line of [header, ...body]) console.log(line.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
}

/** Per seed: the mean over that seed's cells (the seed spread is the sd of these). */
const perSeedMean = (rows: Scored[], k: 'cvr' | 'ctr' | 'ctcvr'): number[] => seeds.map((s) => mean(rows.filter((r) => r.cell.seed === s).map((r) => r[k])));
console.log(`\nper rule: cells more than ${tolerance} below their own best (entire-space pCVR AUC), mean test AUCs over cells (sd of the per-seed means), paired change against ${base} (min..max over seeds), mean epochs run`);
const body = RULES.map((rule) => {
  const rows = scored.filter((s) => s.rule === rule.name);
  const b = scored.filter((s) => s.rule === base);
  const col = (k: 'cvr' | 'ctr' | 'ctcvr'): string => {
    const d = perSeedMean(rows, k).map((x, i) => x - perSeedMean(b, k)[i]!);
    return `${mean(rows.map((r) => r[k])).toFixed(4)} (${sd(perSeedMean(rows, k)).toFixed(4)}) ${d.length > 0 ? `${Math.min(...d) >= 0 ? '+' : ''}${Math.min(...d).toFixed(4)}..${Math.max(...d).toFixed(4)}` : ''}`;
  };
  return [rule.name, `${rows.filter((r) => r.gap > tolerance).length}/${rows.length}`, col('cvr'), col('ctr'), col('ctcvr'), mean(rows.map((r) => r.pick.run)).toFixed(2)];
});
table(['rule', 'misses', 'pCVR AUC entire', 'CTR AUC', 'CTCVR AUC', 'epochs run'], body);

console.log('\nmisses per rule and seed');
table(['rule', ...seeds.map((s) => `seed ${s}`)], RULES.map((rule) => [rule.name, ...seeds.map((s) => String(scored.filter((r) => r.rule === rule.name && r.cell.seed === s && r.gap > tolerance).length))]));

for (const name of values.detail) {
  if (!RULES.some((r) => r.name === name)) throw new Error(`--detail ${name}: unknown rule; one of ${RULES.map((r) => r.name).join(', ')}`);
  console.log(`\n${name}: every cell (kept epoch of pCTR / pCVR, epochs run; * = more than ${tolerance} below own best)`);
  table(['regime', 'seed', 'model', 'kept', 'run', 'pCVR AUC', 'own best (ep)', 'gap', 'CTR AUC', 'CTCVR AUC'], scored.filter((s) => s.rule === name).map((s) => [
    s.cell.regime, String(s.cell.seed), s.cell.model, `${s.pick.ctr}/${s.pick.cvr}`, String(s.pick.run), s.cvr.toFixed(4), `${s.own.toFixed(4)} (${s.ownEpoch})`, `${s.gap.toFixed(4)}${s.gap > tolerance ? ' *' : ''}`, s.ctr.toFixed(4), s.ctcvr.toFixed(4),
  ]));
}
