/**
 * `esmm tune` (issue 13 item 7): a seeded search scored on validation logloss_ctcvr that writes a
 * best.yaml `esmm train` accepts and a trials.json with every trial; the same seed draws the same
 * settings; a config without validation data is refused in one line; files esmm did not write
 * are never replaced; successive halving promotes the better half and the budget stops the search.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';
import { parse } from 'yaml';
import { loadConfig, parseConfig } from '../../src/api/load-config.js';
import { tuneModel, type SearchSpace, type TrialRecord } from '../../src/api/tune.js';

const TIMEOUT = 180_000;

function tinyConfig(dir: string, name = 'tiny.yaml', tune = 'tune: { tower: [[8], [16, 8]], embedding_dim: [4, 8], epochs: [1, 2] }'): string {
  const file = join(dir, name);
  writeFileSync(file, [
    'data: { synth: { rows: 4000, seed: 5 } }',
    'schema: synth',
    'model: { name: esmm, embedding_dim: 8, tower: [16] }',
    'train: { epochs: 1, batch_size: 256, learning_rate: 0.003, seed: 1 }',
    tune,
    '',
  ].join('\n'));
  return file;
}

interface TrialsJson {
  format: string;
  finished: boolean;
  best_trial: number;
  trials: TrialRecord[];
}

const readTrials = (dir: string): TrialsJson => JSON.parse(readFileSync(join(dir, 'trials.json'), 'utf8')) as TrialsJson;

describe('esmm tune', () => {
  it('runs 4 trials, writes a best.yaml esmm train accepts and trials.json; the same seed draws the same settings', async () => {
    const dir = tempDir('esmm-tune-');
    const cfg = tinyConfig(dir);
    const out = join(dir, 'a');
    const r = await runCli(['tune', '--config', cfg, '--trials', '4', '--seed', '3', '--budget', '10m', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    // one progress line per trial, and a leaderboard on stdout no wider than 100 columns
    expect(r.stderr.match(/^trial +\d\/4 .*logloss_ctcvr/gm)?.length).toBe(4);
    const board = r.stdout.trim().split('\n');
    expect(board[0]).toMatch(/logloss_ctcvr/);
    expect(board.length).toBe(4 + 3);
    for (const line of board) expect(line.length).toBeLessThanOrEqual(100);

    const t = readTrials(out);
    expect(t.format).toBe('esmm-tune-trials');
    expect(t.finished).toBe(true);
    expect(t.trials).toHaveLength(4);
    for (const trial of t.trials) expect(Number.isFinite(trial.score)).toBe(true);
    // the config's tune: section replaced those parts of the search space
    // trial 1 is the config as given (tower [16], dim 8, lr 0.003); the rest come from the space
    expect(t.trials[0]!.from_config).toBe(true);
    expect(t.trials[0]!.settings).toMatchObject({ tower: [16], embedding_dim: 8, learning_rate: 0.003, epochs: 1 });
    for (const trial of t.trials.slice(1)) {
      expect([[8], [16, 8]]).toContainEqual(trial.settings.tower);
      expect([4, 8]).toContain(trial.settings.embedding_dim);
    }
    const lowest = Math.min(...t.trials.map((x) => x.score!));
    const best = t.trials.find((x) => x.trial === t.best_trial)!;
    expect(best.score).toBe(lowest);

    // best.yaml carries the winner's settings and is a config esmm accepts
    const yaml = join(out, 'best.yaml');
    const parsed = loadConfig(yaml);
    expect(parsed.train.learning_rate).toBe(best.settings.learning_rate);
    expect(parsed.train.embedding_l2).toBe(best.settings.embedding_l2);
    expect(parsed.model.embedding_dim).toBe(best.settings.embedding_dim);
    expect(parsed.model.tower).toEqual(best.settings.tower);
    const m = join(dir, 'model');
    const tr = await runCli(['train', '--config', yaml, '--out', m, '--quiet']);
    expect(tr.code, tr.stderr).toBe(0);
    expect(existsSync(join(m, 'metrics.json'))).toBe(true);

    // same seed: the same settings (a shorter run draws the same first trials); another seed differs
    const again = join(dir, 'b');
    expect((await runCli(['tune', '--config', cfg, '--trials', '2', '--seed', '3', '--budget', '10m', '--out', again])).code).toBe(0);
    expect(readTrials(again).trials.map((x) => x.settings)).toEqual(t.trials.slice(0, 2).map((x) => x.settings));
    const other = join(dir, 'c');
    expect((await runCli(['tune', '--config', cfg, '--trials', '2', '--seed', '4', '--budget', '10m', '--out', other])).code).toBe(0);
    expect(readTrials(other).trials[1]!.settings).not.toEqual(t.trials[1]!.settings);

    // a rerun into the same folder replaces tune's own files
    expect((await runCli(['tune', '--config', cfg, '--trials', '1', '--seed', '3', '--budget', '10m', '--out', out])).code).toBe(0);
    expect(readTrials(out).trials).toHaveLength(1);
  }, TIMEOUT);

  it('refuses a config without validation data in one line, before reading data', async () => {
    const dir = tempDir('esmm-tune-');
    const csv = join(dir, 'train.csv');
    writeFileSync(csv, 'click,buy,user_id\n1,0,u1\n');
    const cfg = join(dir, 'noval.yaml');
    writeFileSync(cfg, `data: { train: train.csv, holdout: 0 }\nschema: { labels: { click: click, buy: buy }, categorical: [user_id] }\n`);
    const r = await runCli(['tune', '--config', cfg, '--trials', '2', '--out', join(dir, 'o')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/validation/);
    expect(r.stderr).toMatch(/data\.holdout/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'o', 'best.yaml'))).toBe(false);
  }, TIMEOUT);

  it('refuses a bad tune: section in one line naming the key', async () => {
    const dir = tempDir('esmm-tune-');
    const cfg = tinyConfig(dir, 'bad.yaml', 'tune: { dropout: [0, 2] }');
    const r = await runCli(['tune', '--config', cfg, '--trials', '1', '--out', join(dir, 'o')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/tune\.dropout\[1\]/);
  }, TIMEOUT);

  it('never replaces a best.yaml it did not write', async () => {
    const dir = tempDir('esmm-tune-');
    const cfg = tinyConfig(dir);
    const out = join(dir, 'o');
    const mine = join(out, 'best.yaml');
    mkdirSync(out);
    writeFileSync(mine, 'my own notes\n');
    const r = await runCli(['tune', '--config', cfg, '--trials', '1', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not written by esmm tune/);
    expect(readFileSync(mine, 'utf8')).toBe('my own notes\n');
  }, TIMEOUT);

  it('successive halving promotes the better half; the budget stops the search', async () => {
    const dir = tempDir('esmm-tune-');
    const config = loadConfig(tinyConfig(dir));
    const space: SearchSpace = {
      learning_rate: [1e-4, 3e-2],
      embedding_learning_rate: [1e-3, 1e-1],
      embedding_l2: [0, 1e-5],
      dropout: [0, 0.1],
      embedding_dim: [4, 8],
      tower: [[8], [16]],
      epochs: [1, 2],
    };
    const r = await tuneModel(config, { budgetSeconds: 600, trials: 8, seed: 2, space });
    expect(r.strategy).toBe('halving');
    const rung = (k: number): TrialRecord[] => r.trials.filter((t) => t.rung === k);
    expect(rung(0)).toHaveLength(8);
    expect(rung(1)).toHaveLength(4);
    expect(rung(2)).toHaveLength(2);
    expect(rung(0)[0]!.rows).toBeLessThan(rung(2)[0]!.rows);
    // the configs promoted from rung 0 are its 4 best
    const ranked = [...rung(0)].sort((a, b) => a.score! - b.score!).slice(0, 4).map((t) => t.config).sort();
    expect(rung(1).map((t) => t.config).sort()).toEqual(ranked);
    // the winner is the best full-fidelity trial
    expect(r.best!.full_fidelity).toBe(true);
    expect(r.best!.score).toBe(Math.min(...rung(2).map((t) => t.score!)));
    // without the user's own YAML, best.yaml is written from the parsed config and still loads
    const again = parseConfig(parse(r.bestYaml!), 'best.yaml', dir);
    expect(again.model.embedding_dim).toBe(r.best!.settings.embedding_dim);
    expect(again.train.learning_rate).toBe(r.best!.settings.learning_rate);

    // a budget shorter than one trial: the first trial runs, no second one is started
    const short = await tuneModel(config, { budgetSeconds: 0.001, trials: 4, seed: 2, space, strategy: 'random' });
    expect(short.trials).toHaveLength(1);
    expect(short.stoppedByBudget).toBe(true);
  }, TIMEOUT);
});
