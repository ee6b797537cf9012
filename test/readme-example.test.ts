import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { quickstart } from '../examples/quickstart.js';

describe('README example', () => {
  it('is the file examples/quickstart.ts, verbatim', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const example = readFileSync(join(import.meta.dirname, '..', 'examples', 'quickstart.ts'), 'utf8').replaceAll("'../src/index.js'", "'esmm'");
    expect(readme).toContain(example.trim());
  });

  it('runs end to end, learns (AUCs well above 0.5) and prints all three probabilities', async () => {
    const { text, metrics } = await quickstart(mkdtempSync(join(tmpdir(), 'esmm-readme-')));
    console.log(text);
    expect(text).toMatch(/^model\s+AUC\s+GAUC/m);
    expect(text).toMatch(/pCTR 0\.\d{4}  pCVR 0\.\d{4}  pCTCVR 0\.\d{4}/);
    // A newcomer reads these first: with too little data they came out at 0.44 and 0.36.
    expect(metrics.auc_ctr).toBeGreaterThan(0.65);
    expect(metrics.auc_ctcvr).toBeGreaterThan(0.6);
    expect(metrics.auc_cvr_clicked).toBeGreaterThan(0.6);
  }, 300_000);
});
