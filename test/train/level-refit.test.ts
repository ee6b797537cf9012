/**
 * train.level_refit (issue 17): after every epoch the CTR and CVR output biases sit at the joint
 * optimum of the model's own objective over the training rows. Checked against the objective
 * itself (no shift of either logit lowers it any more), against the same run without the refit
 * (only the two biases differ, by the recorded shifts, so pCVR ranks the same), and against a
 * direct evaluation of the objective's terms; the config refuses the models and runs it is not
 * defined for.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/api/load-config.js';
import { trainAndEvaluate } from '../../src/api/pipeline.js';
import { describeOptimizers } from '../../src/api/describe-training.js';
import { UserError } from '../../src/errors.js';
import { loadData } from '../../src/api/load-data.js';
import { prepareLogged } from '../../src/api/pipeline.js';
import { logloss } from '../../src/metrics/logloss.js';
import { argminShift, bestLevels, levelObjective, type LevelRows } from '../../src/train/level-objective.js';
import { fitLevels, levelSettings, refitRows } from '../../src/train/level-refit.js';
import type { EpochRecord } from '../../src/train/epoch-record.js';
import { Rng } from '../../src/util/random.js';

function config(model: string, train: Record<string, unknown> = {}): ReturnType<typeof loadConfig> {
  return loadConfig(model, {
    data: { synth: { rows: 20000, seed: 3 } },
    model: { embedding_dim: 4, tower: [16] },
    train: { epochs: 2, batch_size: 512, seed: 2, early_stopping: false, threads: 1, ...train },
  });
}

/** Train, and after each epoch score the training rows: the objective's best shifts, and the CTR/CVR output biases. */
async function trainAndProbe(model: string, refit: boolean, train: Record<string, unknown> = {}): Promise<{ history: EpochRecord[]; best: { alpha: number; delta: number }[]; biases: number[][]; validPcvr: Float32Array; validCvrAuc: number }> {
  const cfg = config(model, { level_refit: refit, ...train });
  const data = await loadData(cfg.data, cfg.schema, { baseDir: cfg.baseDir });
  const features = prepareLogged(cfg, data);
  const rows = features.train;
  const best: { alpha: number; delta: number }[] = [];
  const biases: number[][] = [];
  const r = await trainAndEvaluate(cfg, {
    prepared: { data, features },
    onEpoch: async (_e, m) => {
      const p = await m.predictUncalibrated(rows);
      best.push(bestLevels({ click: rows.labels.click, buy: rows.labels.buy, pctr: p.pctr, pcvr: p.pcvr }, levelSettings(cfg)));
      biases.push([m.params.get('tower_ctr/head/b')![0]!, m.params.get('tower_cvr/head/b')![0]!]);
    },
  });
  const valid = features.valid!;
  const p = await r.result.model.predictUncalibrated(valid);
  await r.result.model.release();
  return { history: r.result.history, best, biases, validPcvr: p.pcvr, validCvrAuc: r.metrics.auc_cvr_clicked! };
}

describe('train.level_refit', () => {
  for (const model of ['esmm', 'escm2_ipw', 'escm2_dr']) {
    it(`${model}: after every epoch no shift of the CTR or CVR logit lowers the objective on the training rows`, async () => {
      const plain = await trainAndProbe(model, false);
      const refit = await trainAndProbe(model, true);
      // Without the refit the level is off its optimum (the premise); with it, both shifts are ~0.
      expect(Math.max(...plain.best.map((b) => Math.max(Math.abs(b.alpha), Math.abs(b.delta))))).toBeGreaterThan(0.02);
      for (const b of refit.best) {
        expect(Math.abs(b.alpha)).toBeLessThan(0.005);
        expect(Math.abs(b.delta)).toBeLessThan(0.005);
      }
      // Epoch 1 trains the same steps; the refit then adds exactly the recorded shifts to the two biases.
      const shift = refit.history[0]!.level_shift!;
      expect(refit.biases[0]![0]).toBeCloseTo(plain.biases[0]![0]! + shift.ctr, 5);
      expect(refit.biases[0]![1]).toBeCloseTo(plain.biases[0]![1]! + shift.cvr, 5);
      expect(plain.history[0]!.level_shift).toBeUndefined();
      expect(refit.history.every((h) => h.level_shift !== undefined)).toBe(true);
    }, 60_000);
  }

  it('works with the sharded step (train.workers: 2): its workers train on from the refit biases, as one worker does', async () => {
    const one = await trainAndProbe('esmm', true);
    const two = await trainAndProbe('esmm', true, { workers: 2 });
    // Had the workers kept their own copy of the biases, epoch 2 would start from the pre-refit ones.
    for (let e = 0; e < 2; e++) {
      expect(two.biases[e]![0]).toBeCloseTo(one.biases[e]![0]!, 3);
      expect(two.biases[e]![1]).toBeCloseTo(one.biases[e]![1]!, 3);
      expect(two.history[e]!.level_shift!.cvr).toBeCloseTo(one.history[e]!.level_shift!.cvr, 3);
    }
    expect(two.validCvrAuc).toBeCloseTo(one.validCvrAuc, 3);
  }, 60_000);

  it('a shift of the CVR logit leaves the ranking of pCVR alone', async () => {
    // One epoch: both runs take the same steps, so only the biases differ at the end.
    const cfg = (refit: boolean): ReturnType<typeof loadConfig> => config('esmm', { epochs: 1, level_refit: refit });
    const a = await trainAndEvaluate(cfg(false));
    const b = await trainAndEvaluate(cfg(true));
    expect(b.metrics.auc_cvr_clicked).toBeCloseTo(a.metrics.auc_cvr_clicked!, 6);
    expect(b.metrics.auc_ctr).toBeCloseTo(a.metrics.auc_ctr!, 6);
    await a.result.model.release();
    await b.result.model.release();
  }, 60_000);

  it('is named in the start-of-training optimizers line', () => {
    expect(describeOptimizers(config('esmm', { level_refit: true }))).toMatch(/output biases refit to the objective after each epoch \(train\.level_refit\)/);
    expect(describeOptimizers(config('esmm'))).not.toMatch(/level_refit/);
  });

  it('is refused, naming the key, where it is not defined', () => {
    expect(() => config('naive_cvr', { level_refit: true })).toThrow(UserError);
    expect(() => config('naive_cvr', { level_refit: true })).toThrow(/train\.level_refit.*not model 'naive_cvr'/);
    expect(() => loadConfig('esmm', { model: { loss_weighting: 'uncertainty' }, train: { level_refit: true } })).toThrow(/train\.level_refit.*fixed loss weights/);
    expect(() => config('esmm', { level_refit: 'yes' })).toThrow(/train\.level_refit/);
  });

  it('is refused by a streamed run, which does not hold the training rows', async () => {
    await expect(trainAndEvaluate(config('esmm', { level_refit: true, streaming: true }))).rejects.toThrow(/train\.level_refit.*streamed run/);
  });
});

describe('the level objective', () => {
  const rng = new Rng(11);
  const n = 5000;
  const rows: LevelRows = { click: new Float32Array(n), buy: new Float32Array(n), pctr: new Float32Array(n), pcvr: new Float32Array(n) };
  for (let i = 0; i < n; i++) {
    rows.pctr[i] = 0.01 + 0.3 * rng.next();
    rows.pcvr[i] = 0.02 + 0.2 * rng.next();
    rows.click[i] = rng.next() < rows.pctr[i]! * 1.3 ? 1 : 0;
    rows.buy[i] = rows.click[i] === 1 && rng.next() < rows.pcvr[i]! * 0.7 ? 1 : 0;
  }
  const s = { wCtr: 1, wCtcvr: 1, lambda: 0.3, floor: 0.01, clip: 1, selfNormalize: true };

  it('its terms at zero shift are the log-losses the metrics compute, and the IPW risk by hand', () => {
    const j = levelObjective(rows, s, 0);
    expect(j.ctr).toBeCloseTo(logloss(rows.click, rows.pctr), 6);
    const ctcvr = Float32Array.from(rows.pctr, (p, i) => p * rows.pcvr[i]!);
    const both = Float32Array.from(rows.click, (c, i) => c * rows.buy[i]!);
    expect(j.ctcvr).toBeCloseTo(logloss(both, ctcvr), 6);
    let num = 0, den = 0;
    for (let i = 0; i < n; i++) {
      if (rows.click[i] !== 1) continue;
      const w = 1 / Math.max(0.01, rows.pctr[i]!);
      const p = rows.pcvr[i]!;
      num += w * -(rows.buy[i]! * Math.log(p) + (1 - rows.buy[i]!) * Math.log(1 - p));
      den += w;
    }
    expect(j.risk).toBeCloseTo(num / den, 6);
    expect(j.total).toBeCloseTo(j.ctr + j.ctcvr + 0.3 * j.risk, 9);
  });

  it('finds the shifts a grid search finds, and they undo a known distortion of the level', () => {
    // pCTR here is 1/1.3 of the click rate and pCVR 1/0.7 of the buy rate: the best shifts move them back.
    const { alpha, delta } = bestLevels(rows, s);
    expect(alpha).toBeGreaterThan(0.2);
    expect(delta).toBeLessThan(-0.2);
    let bestJ = Infinity, grid = [0, 0];
    for (let a = -1; a <= 1; a += 0.05) for (let d = -1; d <= 1; d += 0.05) {
      const j = levelObjective(rows, s, d, a).total;
      if (j < bestJ) { bestJ = j; grid = [a, d]; }
    }
    expect(Math.abs(alpha - grid[0]!)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(delta - grid[1]!)).toBeLessThanOrEqual(0.05);
    expect(levelObjective(rows, s, delta, alpha).total).toBeLessThanOrEqual(bestJ + 1e-9);
    expect(argminShift((x) => (x - 1.234) ** 2)).toBeCloseTo(1.234, 3);
  });

  it('places no level on rows without a buy, or with predictions that are not finite', () => {
    const noBuy: LevelRows = { ...rows, buy: new Float32Array(n) };
    expect(fitLevels(noBuy, s)).toEqual({ ctr: 0, cvr: 0 });
    const nan: LevelRows = { ...rows, pcvr: Float32Array.from(rows.pcvr, (p, i) => (i === 7 ? Number.NaN : p)) };
    expect(fitLevels(nan, s)).toEqual({ ctr: 0, cvr: 0 });
    const fitted = fitLevels(rows, s);
    expect(fitted.ctr).toBeCloseTo(bestLevels(rows, s).alpha, 9);
  });

  it('a weighted sample of the rows (every clicked row, a stride of the rest) keeps the objective', async () => {
    const cfg = config('escm2_ipw');
    const data = await loadData(cfg.data, cfg.schema, { baseDir: cfg.baseDir });
    const train = prepareLogged(cfg, data).train;
    const clicks = train.labels.click.reduce((a, c) => a + c, 0);
    const { rows: sample, weight } = refitRows(train, 4000);
    expect(weight).toBeDefined();
    expect(sample.labels.click.reduce((a, c) => a + c, 0)).toBe(clicks);
    expect(sample.rows).toBeLessThanOrEqual(4000 + 1);
    // Score the same synthetic predictions on both: the weighted sums estimate the full ones.
    const fake = (c: { rows: number; labels: { click: Float32Array; buy: Float32Array } }, w?: Float32Array): LevelRows => ({
      click: c.labels.click, buy: c.labels.buy, pctr: new Float32Array(c.rows).fill(0.1), pcvr: new Float32Array(c.rows).fill(0.05), ...(w !== undefined ? { weight: w } : {}),
    });
    const full = levelObjective(fake(train), s, 0);
    const est = levelObjective(fake(sample, weight), s, 0);
    expect(est.ctr).toBeCloseTo(full.ctr, 2);
    expect(est.ctcvr).toBeCloseTo(full.ctcvr, 3);
    expect(est.risk).toBeCloseTo(full.risk, 6);
    expect(refitRows(train).weight).toBeUndefined();
  });
});
