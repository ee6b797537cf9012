import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, smallSynthConfig, tempDir } from './helpers.js';

const EVAL_KEYS = ['auc_ctr', 'auc_ctcvr', 'auc_cvr_clicked', 'gauc_ctr', 'gauc_ctcvr', 'groups_ctr', 'groups_ctcvr', 'logloss_ctr', 'logloss_ctcvr', 'auc_macro', 'gauc_macro', 'auc_cvr_entire_space'];

describe('esmm train / predict / eval', () => {
  const dir = tempDir();
  const modelDir = join(dir, 'model');

  it('trains a model directory with metrics.json', async () => {
    const r = await runCli(['train', '--config', smallSynthConfig(dir), '--out', modelDir, '--quiet']);
    expect(r.code).toBe(0);
    for (const f of ['model.json', 'model.json.sha256', 'features.json', 'params.bin', 'metrics.json', 'history.json']) expect(existsSync(join(modelDir, f))).toBe(true);
    // model.onnx is no longer written into the model directory (never read back, so never verified): `esmm export` writes it.
    expect(existsSync(join(modelDir, 'model.onnx'))).toBe(false);
    const m = JSON.parse(readFileSync(join(modelDir, 'metrics.json'), 'utf8'));
    expect(m.evaluated_on).toBe('test');
    expect(m.metrics.auc_ctr).toBeGreaterThan(0.5);
    expect(r.stdout).toMatch(/^model\s+AUC\s+GAUC/m);
  });

  it('predicts pctr,pcvr,pctcvr for every input row, in order', async () => {
    const data = join(dir, 'to-score.csv');
    // The simulator's test split, labels and truth columns included (they are ignored).
    const synthDir = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8'));
    expect(synthDir.format).toBe('esmm-model');
    const src = readFileSync(join(modelDir, '..', 'esmm.yaml'), 'utf8');
    expect(src).toContain('synth');
    const header = 'user_id,item_id,item_category,user_segment,position,recent_categories,item_price,user_activity';
    writeFileSync(data, `${header}\nu1,i1,c1,s1,p1,c1|c2,10.5,3\nu_unseen,i2,c2,s0,p2,,1,0\nu3,i3,c3,s2,p3,c3,100,12\n`);
    const out = join(dir, 'pred.csv');
    const r = await runCli(['predict', '--model', modelDir, '--data', data, '--out', out]);
    expect(r.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('pctr,pcvr,pctcvr');
    expect(lines).toHaveLength(4);
    for (const line of lines.slice(1)) {
      const [pctr, pcvr, pctcvr] = line.split(',').map(Number) as [number, number, number];
      for (const p of [pctr, pcvr, pctcvr]) expect(p).toBeGreaterThan(0) && expect(p).toBeLessThan(1);
      expect(pctcvr).toBeCloseTo(pctr * pcvr, 6);
    }
    expect(r.stderr).toMatch(/out-of-vocabulary.*user_id \d+\.\d\d% \([12]\)/);
  });

  it('evaluates with named spaces and writes flat JSON', async () => {
    const json = join(dir, 'eval.json');
    const test = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')).config;
    expect(test.model.name).toBe('esmm');
    const testFile = join(dir, 'test.csv');
    // Reuse the simulator's cached test split through a tiny compare of the API.
    const { loadData } = await import('../../src/api/load-data.js');
    const { loadConfig } = await import('../../src/api/load-config.js');
    const cfg = loadConfig(smallSynthConfig(dir));
    const loaded = await loadData(cfg.data, cfg.schema);
    writeFileSync(testFile, readFileSync(loaded.files.test!, 'utf8'));
    const r = await runCli(['eval', '--model', modelDir, '--data', testFile, '--json', json]);
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(json, 'utf8'));
    for (const k of EVAL_KEYS) expect(m).toHaveProperty(k);
    expect(m.groups_ctr).toBeGreaterThan(0);
  });

  it('refuses a corrupted model directory with a one-line error', async () => {
    const params = join(modelDir, 'params.bin');
    const bytes = readFileSync(params);
    bytes[10] = bytes[10]! ^ 0xff;
    writeFileSync(params, bytes);
    const r = await runCli(['eval', '--model', modelDir, '--data', join(dir, 'test.csv')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/params\.bin: checksum mismatch/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a model directory from another format version', async () => {
    const manifest = join(modelDir, 'model.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    m.version = 999;
    writeFileSync(manifest, JSON.stringify(m));
    const r = await runCli(['predict', '--model', modelDir, '--data', join(dir, 'test.csv'), '--out', join(dir, 'never.csv')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/format version 999 is not supported/);
    expect(existsSync(join(dir, 'never.csv'))).toBe(false);
  });
});

describe('esmm CLI errors', () => {
  it('unknown command and missing flags exit 2 without a stack trace', async () => {
    expect((await runCli(['fly'])).code).toBe(2);
    const r = await runCli(['train']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing --config/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    const bad = await runCli(['train', '--config', 'esmm', '--epochs', 'many']);
    expect(bad.stderr).toMatch(/--epochs expects a positive integer/);
  });
});
