import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared', 'data');

describe('training on the public datasets with presets', () => {
  it('the Ali-CCP preprocessed sample trains, predicts and evaluates end to end', async () => {
    const dir = tempDir('esmm-aliccp-');
    const model = join(dir, 'model');
    const train = join(SHARED, 'ali-ccp-csv', 'train.csv');
    const valid = join(SHARED, 'ali-ccp-csv', 'valid.csv');
    const r = await runCli(['train', '--preset', 'ali-ccp-csv', '--train', train, '--valid', valid, '--out', model, '--epochs', '2', '--batch-size', '32', '--quiet']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(existsSync(join(model, 'model.json'))).toBe(true);
    const out = join(dir, 'pred.csv');
    const p = await runCli(['predict', '--model', model, '--data', valid, '--out', out]);
    expect(p.code).toBe(0);
    // PROVENANCE.md says 49 rows; the file has 50 (its last line has no newline).
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('pctr,pcvr,pctcvr');
    expect(lines).toHaveLength(1 + 50);
    const e = await runCli(['eval', '--model', model, '--data', valid, '--json', join(dir, 'e.json')]);
    expect(e.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'e.json'), 'utf8')).rows).toBe(50);
  });

  it('refuses --preset without --train and an unknown preset, in one line', async () => {
    expect((await runCli(['train', '--preset', 'adult'])).stderr).toMatch(/--preset needs --train/);
    const r = await runCli(['train', '--preset', 'nope', '--train', 'x.csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope/);
  });
});
