/**
 * Degenerate-run guard (issue 13 item 6): a forced divergence and a constant model are reported
 * as warnings in metrics.json, and are errors with train.strict: true.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../cli/helpers.js';
import { LossSpikeWatch } from '../../src/train/guard.js';

const dir = tempDir('esmm-guard-');

function divergingConfig(strict: boolean): string {
  const file = join(dir, `diverge-${strict}.yaml`);
  writeFileSync(file, [
    'data: { synth: { rows: 20000, seed: 5 } }',
    'schema: synth',
    'model: { name: esmm, embedding_dim: 8, tower: [32, 16] }',
    `train: { epochs: 1, batch_size: 128, learning_rate: 3, embedding_learning_rate: 10, seed: 1, early_stopping: false, strict: ${strict} }`,
    '',
  ].join('\n'));
  return file;
}

/** Every row has the same feature value: nothing to learn, so every prediction is the same. */
function constantConfig(strict: boolean): string {
  const rows = ['shop,click,buy'];
  for (let i = 0; i < 400; i++) {
    const click = i % 5 === 0 ? 1 : 0;
    rows.push(`s1,${click},${click === 1 && i % 3 === 0 ? 1 : 0}`);
  }
  writeFileSync(join(dir, 'constant.csv'), `${rows.join('\n')}\n`);
  const file = join(dir, `constant-${strict}.yaml`);
  writeFileSync(file, [
    'data: { train: constant.csv, valid: constant.csv }',
    'schema: { labels: { click: click, buy: buy }, categorical: [shop] }',
    'model: { name: esmm, embedding_dim: 4, tower: [8] }',
    `train: { epochs: 1, batch_size: 64, seed: 1, strict: ${strict} }`,
    '',
  ].join('\n'));
  return file;
}

describe('degenerate-run guard', () => {
  it('warns on a forced divergence (huge learning rate) and records it in metrics.json', async () => {
    const out = join(dir, 'diverged');
    const r = await runCli(['train', '--config', divergingConfig(false), '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning \(loss_spike\): .*running median.*learning rate/);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(m.warnings.map((w: { symptom: string }) => w.symptom)).toContain('loss_spike');
  });

  it('fails a diverging run with train.strict: true, in one line', async () => {
    const r = await runCli(['train', '--config', divergingConfig(true), '--out', join(dir, 'diverged-strict'), '--quiet']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/key 'train.strict': degenerate run \(loss_spike\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('warns on a constant model (near-constant outputs, AUC exactly 0.5)', async () => {
    const out = join(dir, 'constant');
    const r = await runCli(['train', '--config', constantConfig(false), '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning \(constant_output\): pctr is near-constant/);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    const symptoms = m.warnings.map((w: { symptom: string }) => w.symptom);
    expect(symptoms).toEqual(expect.arrayContaining(['constant_output', 'auc_half']));
    expect(m.metrics.auc_ctr).toBe(0.5);
  });

  it('fails a constant model with train.strict: true and still writes metrics.json with the warnings', async () => {
    const out = join(dir, 'constant-strict');
    const r = await runCli(['train', '--config', constantConfig(true), '--out', out, '--quiet']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/degenerate run \(constant_output\)/);
    expect(existsSync(join(out, 'metrics.json'))).toBe(true);
  });

  it('stays quiet on a healthy run', async () => {
    const file = join(dir, 'healthy.yaml');
    writeFileSync(file, 'data: { synth: { rows: 20000, seed: 5 } }\nschema: synth\nmodel: { name: esmm, embedding_dim: 8, tower: [16] }\ntrain: { epochs: 1, batch_size: 256, learning_rate: 0.003, seed: 1, strict: true }\n');
    const out = join(dir, 'healthy');
    const r = await runCli(['train', '--config', file, '--out', out, '--quiet']);
    expect(r.stderr).not.toMatch(/warning/);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).warnings).toEqual([]);
  });

  it('judges the task loss: a spike in a regulariser (ESCM2-DR imputation) is not a divergence', () => {
    const watch = new LossSpikeWatch(new Map([['imputation', 1]]));
    for (let s = 1; s <= 20; s++) watch.observe(s, watch.taskLoss(0.2 + 0.01, { ctr: 0.2, imputation: 0.01 }));
    expect(watch.taskLoss(5.2, { ctr: 0.2, imputation: 5 })).toBeCloseTo(0.2, 6);
    watch.observe(21, watch.taskLoss(5.2, { ctr: 0.2, imputation: 5 }));
    expect(watch.warnings()).toEqual([]);
    watch.observe(22, watch.taskLoss(5.2, { ctr: 5.19, imputation: 0.01 }));
    expect(watch.warnings().map((w) => w.symptom)).toEqual(['loss_spike']);
    expect(watch.warnings()[0]!.message).toMatch(/step task loss 5\.19/);
  });

  it('passes a healthy escm2_dr run on sparse data under train.strict (its imputation loss spikes by construction)', async () => {
    // Sparse funnel (2% CTR, 3% CVR): a batch's few clicks make the 1/pCTR-weighted squared
    // imputation error jump 10-30x its median on some steps; before the guard took regularisers
    // out, strict mode failed this run at step 113 as diverging (loss 2.95 against a median of 0.17).
    const file = join(dir, 'dr-sparse.yaml');
    writeFileSync(file, [
      'data: { synth: { rows: 100000, seed: 1, ctr: 0.02, cvr: 0.03, subspaceDim: 10, attractQualityCorr: 0, effects: { quality: 0.3, convAffinity: 1.5 } } }',
      'schema: synth',
      'model: { name: escm2_dr, tower: [128, 64] }',
      'train: { epochs: 2, batch_size: 1024, seed: 1, strict: true }',
      '',
    ].join('\n'));
    const out = join(dir, 'dr-sparse');
    const r = await runCli(['train', '--config', file, '--out', out, '--quiet']);
    expect(r.stderr).not.toMatch(/loss_spike/);
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect((m.warnings ?? []).map((w: { symptom: string }) => w.symptom)).not.toContain('loss_spike');
  }, 120_000);
});
