/**
 * A model manifest with a field nulled or mistyped is refused in one line naming the key, not a
 * TypeError; a model saved with other logit bases than this esmm builds is refused too.
 */
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainTiny } from '../export/fixture.js';
import { runCli, tempDir } from '../cli/helpers.js';
import { loadModel } from '../../src/models/persist.js';

/**
 * A copy of the model in modelDir with its manifest edited, and the manifest's own checksum
 * updated too (a deliberate edit): what loading checks must still catch it.
 */
function editedCopy(modelDir: string, edit: (m: Record<string, unknown>) => void): string {
  const dir = join(tempDir('esmm-manifest-'), 'model');
  cpSync(modelDir, dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
  edit(m);
  const text = JSON.stringify(m);
  writeFileSync(join(dir, 'model.json'), text);
  writeFileSync(join(dir, 'model.json.sha256'), `${createHash('sha256').update(text).digest('hex')}  model.json\n`);
  return dir;
}

describe('model manifest shape', () => {
  let modelDir: string;
  beforeAll(async () => {
    modelDir = (await trainTiny('esmm')).dir;
  });

  const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['checksums: null', (m) => (m.checksums = null), /key 'checksums': expected a mapping/],
    ['tables: null', (m) => (m.tables = null), /key 'tables': expected a list/],
    ['params: a string', (m) => (m.params = 'x'), /key 'params': expected a list/],
    ['a checksum nulled', (m) => ((m.checksums as Record<string, unknown>)['params.bin'] = null), /key 'checksums\.params\.bin'/],
    ['a checksum removed', (m) => delete (m.checksums as Record<string, unknown>)['features.json'], /key 'checksums\.features\.json'/],
  ];
  for (const [name, edit, pattern] of cases) {
    it(name, async () => {
      const dir = editedCopy(modelDir, edit);
      const r = await runCli(['predict', '--model', dir, '--data', join(dir, 'model.json'), '--out', join(dir, '..', 'p.csv')]);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^esmm predict: error: .*model\.json, /);
      expect(lines[0]).toMatch(pattern);
    });
  }
});

describe('towers whose logit adds another tower\'s (esm2\'s action and buy_after_action over buy_no_action)', () => {
  let modelDir: string;
  beforeAll(async () => {
    modelDir = (await trainTiny('esm2')).dir;
  });

  it('is recorded in the manifest, and the model loads', async () => {
    const m = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as Record<string, unknown>;
    expect(m.logit_bases).toEqual({ action: 'buy_no_action', buy_after_action: 'buy_no_action' });
    expect((await loadModel(modelDir)).spec.name).toBe('esm2');
  });

  it('refuses a model saved when a tower had its own logit (an earlier esmm), naming the tower', async () => {
    // Saved before any esm2 tower had a logit base, and saved when only y3 had one.
    const first = editedCopy(modelDir, (m) => delete m.logit_bases);
    await expect(loadModel(first)).rejects.toThrow(/saved when tower 'action' had its own logit; .*retrain the model/);
    const second = editedCopy(modelDir, (m) => (m.logit_bases = { buy_after_action: 'buy_no_action' }));
    await expect(loadModel(second)).rejects.toThrow(/saved when tower 'action' had its own logit; this esmm builds it with the logit of 'buy_no_action' added to its own/);
  });

  it('refuses a mistyped logit_bases in one line naming the key', async () => {
    const dir = editedCopy(modelDir, (m) => (m.logit_bases = 'buy_no_action'));
    await expect(loadModel(dir)).rejects.toThrow(/expected a mapping of tower to tower/);
  });
});
