import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCommand } from '../../src/cli/commands/convert.js';
import { UserError } from '../../src/errors.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/ali-ccp-raw');
const SKELETON = path.join(FIXTURES, 'sample_skeleton_fixture.csv');
const COMMON = path.join(FIXTURES, 'common_features_fixture.csv');

describe('esmm convert', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'esmm-convert-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('converts the fixture and exits 0', async () => {
    const out = path.join(dir, 'ali.parquet');
    expect(await convertCommand(['ali-ccp', '--skeleton', SKELETON, '--common', COMMON, '--out', out, '--quiet'])).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it('refuses a missing flag, an unknown format and an unknown flag with UserErrors', async () => {
    await expect(convertCommand(['ali-ccp', '--skeleton', SKELETON, '--common', COMMON])).rejects.toThrow(/missing --out/);
    await expect(convertCommand(['criteo', '--out', 'x'])).rejects.toThrow(/unknown format 'criteo'/);
    await expect(convertCommand(['ali-ccp', '--bogus'])).rejects.toBeInstanceOf(UserError);
    await expect(convertCommand([])).rejects.toBeInstanceOf(UserError);
  });
});
