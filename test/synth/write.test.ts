import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthCommand } from '../../src/cli/commands/synth.js';
import { UserError } from '../../src/errors.js';
import { requiredColumns } from '../../src/data/schema.js';
import { synthSchema } from '../../src/synth/schema.js';
import { formatFunnelStats } from '../../src/synth/stats.js';
import { writeSynth } from '../../src/synth/write.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'esmm-synth-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.trimEnd().split('\n');
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

describe('writeSynth', () => {
  const cfg = { rows: 20_000, seed: 9, calibrationRows: 20_000 };

  it('writes identical files for the same seed', async () => {
    const a = await writeSynth(join(root, 'a'), cfg);
    const b = await writeSynth(join(root, 'b'), cfg);
    for (const name of ['train.csv', 'valid.csv', 'test.csv']) {
      const [x, y] = await Promise.all([readFile(join(a.outDir, name)), readFile(join(b.outDir, name))]);
      expect(x.equals(y)).toBe(true);
    }
    expect((await readdir(a.outDir)).sort()).toEqual(['synth.json', 'test.csv', 'train.csv', 'valid.csv']);
  });

  it('writes the columns the schema names, truth only in valid and test, consistent with labels', async () => {
    const dir = join(root, 'a');
    const train = parseCsv(await readFile(join(dir, 'train.csv'), 'utf8'));
    const test = parseCsv(await readFile(join(dir, 'test.csv'), 'utf8'));
    const valid = parseCsv(await readFile(join(dir, 'valid.csv'), 'utf8'));
    expect([train.rows.length, valid.rows.length, test.rows.length]).toEqual([16_000, 2_000, 2_000]);
    const schema = synthSchema();
    for (const col of requiredColumns(schema)) {
      expect(train.header).toContain(col);
      expect(test.header).toContain(col);
    }
    for (const col of schema.truth!) {
      expect(train.header).not.toContain(col);
      expect(test.header).toContain(col);
    }
    const at = (name: string): number => test.header.indexOf(name);
    let bad = 0;
    for (const row of test.rows) {
      expect(row.length).toBe(test.header.length);
      const click = Number(row[at('click')]);
      const buy = Number(row[at('buy')]);
      if (buy > click) bad++;
      if (click === 1 && Number(row[at('potential_buy')]) !== buy) bad++;
      const pctr = Number(row[at('true_pctr')]);
      const pcvr = Number(row[at('true_pcvr')]);
      if (!(pctr > 0 && pctr < 1 && pcvr > 0 && pcvr < 1)) bad++;
      if (Math.abs(Number(row[at('true_pctcvr')]) - pctr * pcvr) > 1e-6 * pctr * pcvr) bad++;
      if (!/^c\d+(\|c\d+)*$/.test(row[at('recent_categories')]!)) bad++;
      if (!(Number(row[at('item_price')]) > 0)) bad++;
    }
    expect(bad).toBe(0);
  });

  it('records config and realised stats in synth.json', async () => {
    const meta = JSON.parse(await readFile(join(root, 'a', 'synth.json'), 'utf8'));
    expect(meta.config.seed).toBe(9);
    expect(meta.stats.all.impressions).toBe(20_000);
    expect(meta.stats.train.impressions + meta.stats.valid.impressions + meta.stats.test.impressions).toBe(20_000);
    const text = formatFunnelStats(meta);
    expect(text).toMatch(/CTR .*4\.000%/);
    expect(text).toMatch(/selection bias/);
  });
});

describe('esmm synth command', () => {
  it('writes the files and returns 0', async () => {
    const out = join(root, 'cli');
    const code = await synthCommand(['--out', out, '--rows', '3000', '--seed', '2', '--ctr', '0.05', '--quiet']);
    expect(code).toBe(0);
    const meta = JSON.parse(await readFile(join(out, 'synth.json'), 'utf8'));
    expect(meta.config).toMatchObject({ rows: 3000, seed: 2, ctr: 0.05 });
  });

  it('turns bad flags into UserErrors', async () => {
    await expect(synthCommand(['--rows', '100'])).rejects.toThrow(/--out DIR is required/);
    await expect(synthCommand(['--out', root, '--rows', 'many'])).rejects.toThrow(UserError);
    await expect(synthCommand(['--out', root, '--bogus'])).rejects.toThrow(UserError);
    await expect(synthCommand(['--out', root, '--ctr', '2'])).rejects.toThrow(/key 'ctr'/);
    await expect(synthCommand(['--out', root, '--split', '0.5,0.5'])).rejects.toThrow(/--split/);
  });
});
