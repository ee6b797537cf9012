import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, smallSynthConfig, tempDir } from '../cli/helpers.js';

describe('esmm train --report, export, report (CLI)', () => {
  it('trains with --report, exports, and writes a comparison report', async () => {
    const dir = tempDir();
    const cfg = smallSynthConfig(dir, 'esmm', 3000);
    const model = join(dir, 'model');
    const train = await runCli(['train', '--config', cfg, '--out', model, '--epochs', '1', '--quiet', '--report', join(dir, 'train.html')]);
    expect(train.code, train.stderr).toBe(0);
    expect(train.stderr).toMatch(/report \(17 charts\) written to .*train\.html/); // loss 4, ROC+PR 6, reliability 3, truth 3, funnel
    expect(readFileSync(join(model, 'curves.json'), 'utf8')).toContain('"funnel"');

    const exp = await runCli(['export', '--model', model, '--out', join(dir, 'out', 'm.onnx')]);
    expect(exp.code, exp.stderr).toBe(0);
    // One self-contained file by default; the two-file form behind --split-features.
    expect(existsSync(join(dir, 'out', 'm.onnx'))).toBe(true);
    expect(existsSync(join(dir, 'out', 'm.features.json'))).toBe(false);
    expect(exp.stderr).toMatch(/embedded in metadata_props/);
    const split = await runCli(['export', '--model', model, '--out', join(dir, 'e.onnx'), '--split-features']);
    expect(split.code, split.stderr).toBe(0);
    expect(existsSync(join(dir, 'e.features.json'))).toBe(true);

    const bad = await runCli(['export', '--model', join(dir, 'nope'), '--out', join(dir, 'x.onnx')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/not a model directory/);

    const report = await runCli(['report', '--model', model, '--out', join(dir, 'r.html')]);
    expect(report.code, report.stderr).toBe(0);
    const badCompare = await runCli(['report', '--model', model, '--compare', cfg, '--out', join(dir, 'r2.html')]);
    expect(badCompare.code).toBe(2);
    expect(badCompare.stderr).toMatch(/not valid JSON/);
  });
});
