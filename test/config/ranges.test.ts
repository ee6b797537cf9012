/**
 * Numbers that cannot train are refused at config time, naming the key, before any data is read;
 * values that overflow a feature's statistics are refused at fit time, naming the column.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../cli/helpers.js';

const HEADER = 'user_id,item_id,price,click,buy';

function setup(train: string, extraTrain = ''): { dir: string; config: string } {
  const dir = tempDir('esmm-ranges-');
  writeFileSync(join(dir, 'train.csv'), train);
  const config = join(dir, 'c.yaml');
  writeFileSync(config, [
    'data: { train: train.csv }',
    'schema: { labels: { click: click, buy: buy }, categorical: [user_id, item_id], numeric: [price] }',
    'model: { tower: [4] }',
    `train: { batch_size: 2, epochs: 1${extraTrain} }`,
    '',
  ].join('\n'));
  return { dir, config };
}

async function expectOneLine(args: string[], pattern: RegExp): Promise<void> {
  const r = await runCli(args);
  expect(r.code).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => /error/.test(l));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^esmm train: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const ROWS = `${HEADER}\nu1,i1,1.5,1,1\nu2,i2,2.5,0,0\nu1,i3,0.5,1,0\nu3,i1,3.0,0,0\n`;

describe('numeric ranges', () => {
  it('a learning rate of 1e308 is refused by the config check, before the data is read', async () => {
    // The training file does not exist: the config check must fail first.
    const { dir, config } = setup(ROWS, ', learning_rate: 1e308');
    writeFileSync(join(dir, 'c2.yaml'), readFileSync(config, 'utf8').replace('train.csv', 'missing.csv'));
    await expectOneLine(['train', '--config', join(dir, 'c2.yaml'), '--out', join(dir, 'm'), '--quiet'], /key 'train\.learning_rate': expected a value <= 10, got 1e\+308/);
    await expectOneLine(['train', '--config', config, '--lr', '1e308', '--out', join(dir, 'm'), '--quiet'], /key 'train\.learning_rate'/);
    expect(existsSync(join(dir, 'm'))).toBe(false);
  });

  it('a 20-digit seed is refused as a config value, not reported against an embedding table', async () => {
    const { dir, config } = setup(ROWS);
    await expectOneLine(['train', '--config', config, '--seed', '12345678901234567890', '--out', join(dir, 'm'), '--quiet'], /key 'train\.seed': expected an integer seed in 0\.\.4294967295/);
    const r = await runCli(['train', '--config', config, '--seed', '12345678901234567890', '--out', join(dir, 'm'), '--quiet']);
    expect(r.stderr).not.toMatch(/embedding table/);
  });

  it('a value of 1e308 that overflows the standardisation names the file and column', async () => {
    const { dir, config } = setup(`${HEADER}\nu1,i1,1.5,1,1\nu2,i2,1e308,0,0\nu1,i3,0.5,1,0\nu3,i1,-1e308,0,0\n`);
    await expectOneLine(['train', '--config', config, '--out', join(dir, 'm'), '--quiet'], /train\.csv, column 'price': values too large to standardise.*features\.fields\.price\.transform: quantile/);
    expect(existsSync(join(dir, 'm'))).toBe(false);
  });
});
