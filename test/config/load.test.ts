import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, builtinConfigNames } from '../../src/api/load-config.js';
import { UserError } from '../../src/errors.js';

function writeConfig(text: string, ext = 'yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'esmm-config-'));
  const file = join(dir, `c.${ext}`);
  writeFileSync(file, text);
  return file;
}

const BASE = `
data: { train: train.csv }
schema:
  labels: { click: click, buy: buy }
  categorical: [user_id, item_id]
`;

describe('loadConfig', () => {
  it('fills ESMM paper defaults and resolves paths against the config folder', () => {
    const file = writeConfig(BASE);
    const c = loadConfig(file);
    expect(c.model.name).toBe('esmm');
    expect(c.model.embedding_dim).toBe(18);
    expect(c.model.tower).toEqual([360, 200, 80]);
    expect(c.baseDir).toBe(join(file, '..'));
  });

  it('loads JSON configs too', () => {
    const file = writeConfig(JSON.stringify({ data: { train: 't.csv' }, schema: { labels: { click: 'c', buy: 'b' }, categorical: ['u'] }, model: { name: 'esm2' } }), 'json');
    expect(loadConfig(file).model.name).toBe('esm2');
  });

  it('refuses unknown keys naming the key path', () => {
    const file = writeConfig(`${BASE}\nmodel: { name: esmm, towr: [1] }\n`);
    expect(() => loadConfig(file)).toThrow(UserError);
    expect(() => loadConfig(file)).toThrow(/key 'model\.towr'.*unknown key/);
  });

  it('refuses bad values with the key and the value', () => {
    expect(() => loadConfig(writeConfig(`${BASE}\ntrain: { batch_size: -3 }\n`))).toThrow(/train\.batch_size.*-3/);
    expect(() => loadConfig(writeConfig(`${BASE}\nmodel: { name: esmx }\n`))).toThrow(/model\.name.*esmx/);
    expect(() => loadConfig(writeConfig(`${BASE}\nmodel: { tower: [360, 0.5] }\n`))).toThrow(/model\.tower\[1\]/);
    expect(() => loadConfig(writeConfig(`${BASE}\ntrain: { learning_rate: abc }\n`))).toThrow(/train\.learning_rate/);
    expect(() => loadConfig(writeConfig(`${BASE}\ntrain: { shuffle: sometimes }\n`))).toThrow(/train\.shuffle/);
    expect(loadConfig(writeConfig(`${BASE}\ntrain: { shuffle: false }\n`)).train.shuffle).toBe(false);
  });

  it('refuses a label column listed as a feature (leakage)', () => {
    const file = writeConfig(`data: { train: t.csv }\nschema:\n  labels: { click: click, buy: buy }\n  categorical: [user_id, buy]\n`);
    expect(() => loadConfig(file)).toThrow(/label column 'buy'.*leakage/);
  });

  it('refuses unparseable YAML with the file name', () => {
    const file = writeConfig('data: [unclosed\n');
    expect(() => loadConfig(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*cannot parse`));
  });

  it('ships built-in configs that run on the simulator', () => {
    expect(builtinConfigNames()).toEqual(expect.arrayContaining(['esmm', 'esm2', 'naive_cvr', 'division', 'esmm_ns']));
    const c = loadConfig('esm2');
    expect(c.data.synth).toBeDefined();
    expect(c.schema.labels.actions).toEqual(['cart']);
    expect(() => loadConfig('no_such_builtin')).toThrow(/built-ins: esmm/);
  });
});
