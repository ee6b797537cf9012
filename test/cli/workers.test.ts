/**
 * `esmm train --workers N`: the flag reaches train.workers (a 2-worker run trains to the same
 * metrics as a 1-worker run on the same data), and settings N > 1 cannot train the same are
 * refused in one line naming train.workers, with a non-zero exit and no stack trace.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, smallSynthConfig, tempDir } from './helpers.js';

describe('esmm train --workers', () => {
  it.each(['esmm', 'naive_cvr'])('trains %s with 2 workers to the metrics of 1 worker', async (model) => {
    const dir = tempDir();
    const cfg = smallSynthConfig(dir, model, 3000);
    const metrics = async (workers: string): Promise<Record<string, number>> => {
      const out = join(dir, `w${workers}`);
      const r = await runCli(['train', '--config', cfg, '--out', out, '--quiet', '--workers', workers, '--epochs', '1']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as Record<string, number>;
    };
    const one = await metrics('1');
    const two = await metrics('2');
    const aucs = JSON.stringify(one).match(/"(auc_[a-z_]+)"/g)!.map((k) => k.slice(1, -1));
    expect(aucs.length).toBeGreaterThan(0);
    const pick = (m: unknown, k: string): number => Number(JSON.stringify(m).match(new RegExp(`"${k}":(-?[0-9.e+-]+)`))![1]);
    for (const k of aucs) expect(Math.abs(pick(two, k) - pick(one, k)), k).toBeLessThan(2e-3);
  });

  it('refuses escm2_ipw (its self-normalised risk) with 2 workers in one line naming train.workers', async () => {
    const dir = tempDir();
    const r = await runCli(['train', '--config', smallSynthConfig(dir, 'escm2_ipw', 2000), '--out', join(dir, 'm'), '--quiet', '--workers', '2']);
    expect(r.code).not.toBe(0);
    // Info lines (reading, features, optimizers) come first; the failure is one line, the last.
    const lines = r.stderr.trim().split('\n');
    const errors = lines.filter((l) => /error/.test(l));
    expect(errors).toHaveLength(1);
    expect(lines.at(-1)).toBe(errors[0]);
    expect(errors[0]).toMatch(/^esmm train: error: key 'train\.workers': 2 workers cannot train model 'escm2_ipw' with model\.escm2\.self_normalize .*; set train\.workers: 1$/);
  });
});
