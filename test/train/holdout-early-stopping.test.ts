/**
 * Defaults that cannot overfit silently (issue 13 item 1): without a validation file a seeded
 * slice of the training rows validates (the latest rows when a time column is configured),
 * early stopping with best-weights restore is on by default, its metric is checked when the
 * config is read, and metrics.json says truthfully which epoch's weights it holds.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../cli/helpers.js';
import { loadConfig } from '../../src/api/load-config.js';
import { holdOut } from '../../src/data/holdout.js';
import { rowsToRawChunk } from '../../src/data/rows.js';
import { Rng } from '../../src/util/random.js';
import type { Schema } from '../../src/data/schema.js';

const dir = tempDir('esmm-holdout-');
const schema: Schema = { labels: { click: 'click', buy: 'buy' }, categorical: ['user', 'item'], numeric: ['ts'] };

function rows(n: number) {
  const rng = new Rng(11);
  return Array.from({ length: n }, (_, i) => {
    const u = rng.int(40);
    const it = rng.int(30);
    const click = rng.next() < 0.1 + 0.4 * ((u + it) % 2) ? 1 : 0;
    const buy = click === 1 && rng.next() < 0.2 + 0.5 * (it % 3 === 0 ? 1 : 0) ? 1 : 0;
    return { user: `u${u}`, item: `i${it}`, ts: i, click, buy };
  });
}

function writeData(n: number): string {
  const file = join(dir, 'train.csv');
  writeFileSync(file, `user,item,ts,click,buy\n${rows(n).map((r) => `${r.user},${r.item},${r.ts},${r.click},${r.buy}`).join('\n')}\n`);
  return file;
}

function config(name: string, train: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, [
    'data: { train: train.csv }',
    'schema: { labels: { click: click, buy: buy }, categorical: [user, item], numeric: [ts] }',
    'model: { name: esmm, embedding_dim: 4, tower: [8] }',
    `train: { ${train} }`,
    '',
  ].join('\n'));
  return file;
}

describe('holdout and early stopping by default', () => {
  it('holds out a seeded random slice, or the latest rows by a time column', () => {
    const raw = rowsToRawChunk(rows(1000), schema);
    const a = holdOut(raw, { fraction: 0.1, seed: 1 })!;
    const b = holdOut(raw, { fraction: 0.1, seed: 1 })!;
    expect(a.valid.rows).toBe(100);
    expect(a.train.rows).toBe(900);
    expect(Array.from(a.valid.numeric.get('ts')!)).toEqual(Array.from(b.valid.numeric.get('ts')!));
    const ts = Array.from(a.valid.numeric.get('ts')!);
    expect(Math.max(...ts)).toBeGreaterThan(900 - 1);
    expect(Math.min(...ts)).toBeLessThan(800); // random, not the tail
    const other = holdOut(raw, { fraction: 0.1, seed: 2 })!;
    expect(Array.from(other.valid.numeric.get('ts')!)).not.toEqual(ts);
    const byTime = holdOut(raw, { fraction: 0.1, seed: 1, time_column: 'ts' })!;
    expect(Array.from(byTime.valid.numeric.get('ts')!)).toEqual(Array.from({ length: 100 }, (_, i) => 900 + i));
    expect(Math.max(...Array.from(byTime.train.numeric.get('ts')!))).toBe(899);
  });

  it('turns early stopping on by default, and off with early_stopping: false', () => {
    const rule = { metric: 'logloss_cvr_clicked', patience: 2, fallback_metric: 'logloss_ctcvr', min_conversions: 30 };
    expect(loadConfig('esmm').train.early_stopping).toEqual(rule);
    for (const name of ['esm2', 'naive_cvr', 'escm2_dr', 'aitm', 'demo']) expect(loadConfig(name).train.early_stopping).toEqual(rule);
    expect(loadConfig('esmm', { train: { early_stopping: false } }).train.early_stopping).toBeUndefined();
  });

  it('refuses an unknown early-stopping metric when the config is read, before any data', async () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'data: { train: does-not-exist.csv }\nschema: { labels: { click: click, buy: buy }, categorical: [user] }\ntrain: { early_stopping: { metric: auc_ctcrv } }\n');
    const r = await runCli(['train', '--config', file, '--out', join(dir, 'typo'), '--quiet']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/key 'train.early_stopping.metric': unknown metric 'auc_ctcrv'/);
    expect(r.stderr).not.toMatch(/does-not-exist/);
    // Metrics the schema cannot give are refused too (no simulator truth here).
    expect(() => loadConfig(file, { train: { early_stopping: { metric: 'auc_cvr_entire_space' } } })).toThrow(/unknown metric/);
  });

  it('fills the default rule in around the keys given; a metric of one\'s own has no fallback', () => {
    const own = config('own-rule', 'epochs: 2');
    expect(loadConfig(own).train.early_stopping).toEqual({ metric: 'logloss_cvr_clicked', patience: 2, fallback_metric: 'logloss_ctcvr', min_conversions: 30 });
    expect(loadConfig(own, { train: { early_stopping: { patience: 3 } } }).train.early_stopping)
      .toEqual({ metric: 'logloss_cvr_clicked', patience: 3, fallback_metric: 'logloss_ctcvr', min_conversions: 30 });
    expect(loadConfig(own, { train: { early_stopping: { metric: 'auc_ctcvr' } } }).train.early_stopping).toEqual({ metric: 'auc_ctcvr', patience: 2 });
    expect(loadConfig(own, { train: { early_stopping: { metric: 'auc_ctr', fallback_metric: 'logloss_ctr' } } }).train.early_stopping)
      .toEqual({ metric: 'auc_ctr', patience: 2, fallback_metric: 'logloss_ctr', min_conversions: 30 });
  });

  it('refuses an unknown fallback metric, and min_conversions without one, when the config is read', async () => {
    const file = join(dir, 'fallback-typo.yaml');
    writeFileSync(file, 'data: { train: does-not-exist.csv }\nschema: { labels: { click: click, buy: buy }, categorical: [user] }\ntrain: { early_stopping: { fallback_metric: logloss_ctcrv } }\n');
    const r = await runCli(['train', '--config', file, '--out', join(dir, 'fallback-typo'), '--quiet']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/key 'train.early_stopping.fallback_metric': unknown metric 'logloss_ctcrv'/);
    expect(r.stderr).not.toMatch(/does-not-exist/);
    const own = config('own-rule', 'epochs: 2');
    expect(() => loadConfig(own, { train: { early_stopping: { metric: 'auc_ctcvr', min_conversions: 5 } } })).toThrow(/min_conversions.*needs train.early_stopping.fallback_metric/);
    expect(() => loadConfig(own, { train: { early_stopping: { min_conversions: 0 } } })).toThrow(/min_conversions/);
  });

  it('stops on the click-space CVR loss, or on the fallback when validation holds fewer than min_conversions conversions', async () => {
    writeData(3000);
    const run = async (name: string, minConversions: number) => {
      const out = join(dir, name);
      // patience 9: every epoch runs, then the best one by the judged metric is restored.
      const r = await runCli(['train', '--config', config(name, `epochs: 4, batch_size: 64, learning_rate: 0.05, seed: 2, early_stopping: { metric: logloss_cvr_clicked, patience: 9, fallback_metric: logloss_ctcvr, min_conversions: ${minConversions} }`), '--out', out]);
      expect(r.code).toBe(0);
      return JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    };
    const probe = await run('fallback-probe', 1);
    const conversions: number = probe.history[0].valid.conversions;
    expect(conversions).toBeGreaterThan(5); // the 300 held-out rows hold some conversions
    const argmin = (m: { history: { valid: Record<string, number> }[] }, key: string): number => {
      const xs = m.history.map((h) => h.valid[key]!);
      return xs.indexOf(Math.min(...xs)) + 1;
    };
    // Exactly min_conversions: the main metric judges.
    const main = await run('fallback-main', conversions);
    expect(main.early_stopping_metric).toBe('logloss_cvr_clicked');
    expect(main.best_epoch).toBe(argmin(main, 'logloss_cvr_clicked'));
    expect(main.metrics.logloss_cvr_clicked).toBeCloseTo(main.history[main.best_epoch - 1].valid.logloss_cvr_clicked, 6);
    // One short of it: the fallback judges.
    const fb = await run('fallback-used', conversions + 1);
    expect(fb.early_stopping_metric).toBe('logloss_ctcvr');
    expect(fb.best_epoch).toBe(argmin(fb, 'logloss_ctcvr'));
    expect(fb.metrics.logloss_ctcvr).toBeCloseTo(fb.history[fb.best_epoch - 1].valid.logloss_ctcvr, 6);
  }, 120_000);

  it('validates on the holdout and reports the epoch whose weights it keeps', async () => {
    writeData(3000);
    // patience 9: every epoch runs, then the best one is restored.
    const out = join(dir, 'es');
    const r = await runCli(['train', '--config', config('es', 'epochs: 4, batch_size: 64, learning_rate: 0.05, seed: 2, early_stopping: { metric: logloss_ctcvr, patience: 9 }'), '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/holding out 300 of 3000 training rows/);
    // The effective optimizers are printed before training (embeddings do not use learning_rate as is).
    expect(r.stderr).toMatch(/optimizers: dense adam lr 0\.05; embeddings adagrad lr 0\.5 \(10x train\.learning_rate\)/);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(m.evaluated_on).toBe('valid');
    const losses: number[] = m.history.map((h: { valid: { logloss_ctcvr: number } }) => h.valid.logloss_ctcvr);
    expect(losses).toHaveLength(4);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(m.best_epoch).toBe(best);
    expect(m.kept_epoch).toBe(best);
    // The evaluated (and saved) weights are the best epoch's: same validation loss.
    expect(m.metrics.logloss_ctcvr).toBeCloseTo(losses[best - 1]!, 6);
  });

  it('says best_epoch null (not the last epoch) when early stopping is off', async () => {
    writeData(3000);
    const out = join(dir, 'no-es');
    const r = await runCli(['train', '--config', config('no-es', 'epochs: 2, batch_size: 64, seed: 2, early_stopping: false'), '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(m.best_epoch).toBeNull();
    expect(m.kept_epoch).toBe(2);
  });
});
