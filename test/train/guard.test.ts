/**
 * Degenerate-run guard (issue 13 item 6): a forced divergence and a constant model are reported
 * as warnings in metrics.json, and are errors with train.strict: true.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../cli/helpers.js';

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
});
