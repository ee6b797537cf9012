/** The bad-input catalogue at the CLI: one clear line naming the file/row/key, exit 2, nothing half-written. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const HEADER = 'user_id,item_id,price,click,buy';
const ROWS = ['u1,i1,1.5,1,1', 'u2,i2,2.5,0,0', 'u1,i3,0.5,1,0', 'u3,i1,3.0,0,0'];

function setup(valid: string, train = [HEADER, ...ROWS].join('\n')): { dir: string; config: string } {
  const dir = tempDir('esmm-bad-');
  writeFileSync(join(dir, 'train.csv'), `${train}\n`);
  writeFileSync(join(dir, 'valid.csv'), valid);
  const config = join(dir, 'c.yaml');
  writeFileSync(config, [
    'data: { train: train.csv, valid: valid.csv }',
    'schema: { labels: { click: click, buy: buy }, categorical: [user_id, item_id], numeric: [price] }',
    'model: { tower: [4] }',
    'train: { batch_size: 2 }',
    '',
  ].join('\n'));
  return { dir, config };
}

async function expectOneLineError(config: string, dir: string, pattern: RegExp): Promise<void> {
  const out = join(dir, 'model');
  const r = await runCli(['train', '--config', config, '--out', out, '--quiet']);
  expect(r.code).toBe(2);
  const errors = r.stderr.split('\n').filter((l) => l.includes('error'));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(pattern);
  expect(existsSync(out)).toBe(false);
}

describe('bad inputs at the CLI', () => {
  it('a 0-row validation set', async () => {
    const { dir, config } = setup(`${HEADER}\n`);
    await expectOneLineError(config, dir, /valid\.csv.*(no rows|empty)/);
  });

  it('a column present in train but missing in valid', async () => {
    const { dir, config } = setup('user_id,item_id,click,buy\nu1,i1,0,0\n');
    await expectOneLineError(config, dir, /valid\.csv.*price/);
  });

  it('buy without click names the file and row', async () => {
    const { dir, config } = setup(`${HEADER}\nu1,i1,1.0,0,1\n`);
    await expectOneLineError(config, dir, /valid\.csv, row 1.*buy/);
  });

  it('NaN in a numeric column names the file, row and column', async () => {
    const { dir, config } = setup(`${HEADER}\nu1,i1,1.0,0,0\nu2,i2,NaN,0,0\n`);
    await expectOneLineError(config, dir, /valid\.csv, row 2, column 'price'/);
  });

  it('an empty training file', async () => {
    const { dir, config } = setup(`${HEADER}\nu1,i1,1.0,0,0\n`, '');
    await expectOneLineError(config, dir, /train\.csv/);
  });
});
