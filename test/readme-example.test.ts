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

  it('runs end to end and prints all three probabilities', async () => {
    const out = await quickstart(mkdtempSync(join(tmpdir(), 'esmm-readme-')));
    expect(out).toMatch(/CTCVR AUC/);
    expect(out).toMatch(/pCTR 0\.\d{4}  pCVR 0\.\d{4}  pCTCVR 0\.\d{4}/);
  });
});
