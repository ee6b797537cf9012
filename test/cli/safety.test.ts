/**
 * Data safety of everything esmm writes and reads back (issue 10): train --out never deletes
 * files esmm did not write; the model and checkpoint directories survive a kill -9 at every
 * instant of their publication; manifests are checksummed, confined and validated; exports are
 * one file (or a hash-checked pair); stale temp files of dead processes are cleaned; outputs are
 * checked before any work. Runs the compiled CLI (npm test builds first) as real child processes;
 * kills happen at exact instants through the test-only ESMM_TEST_PAUSE_AT hook.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Imported in the tests that use them, so that each test fails on its own merits on older code.
type ReadExport = typeof import('../../src/export/read-export.js').readExport;
const readExportFn = async (): Promise<ReadExport> => (await import('../../src/export/index.js') as { readExport: ReadExport }).readExport;
import { tempDir } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'esmm.js');
const HEADER = 'user_id,item_id,item_category,user_segment,position,recent_categories,item_price,user_activity';

function config(dir: string, name = 'c.yaml', dataSeed = 5): string {
  const file = join(dir, name);
  writeFileSync(file, [
    `data: { synth: { rows: 3000, seed: ${dataSeed} } }`,
    'schema: synth',
    'model: { name: esmm, embedding_dim: 8, tower: [16] }',
    `train: { epochs: 2, batch_size: 256, learning_rate: 0.003, seed: 1, checkpoint_every: 3, threads: 1 }`,
    '',
  ].join('\n'));
  return file;
}

function run(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start the CLI with a pause point; resolves once the process has announced it is paused there. */
async function pausedAt(args: string[], point: string): Promise<{ kill: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ESMM_TEST_PAUSE_AT: point } });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('ESMM_TEST_PAUSED')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code} before pausing at ${point}: ${stderr.slice(-500)}`)));
  });
  return {
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A process id that is certainly not running: a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

function scoreFile(dir: string): string {
  const f = join(dir, 'score.csv');
  writeFileSync(f, `${HEADER}\nu1,i1,c1,s1,p1,c1|c2,10.5,3\nu3,i3,c3,s2,p3,c3,100,12\n`);
  return f;
}

function predict(model: string, data: string, out: string): string {
  const r = run(['predict', '--model', model, '--data', data, '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  const text = readFileSync(out, 'utf8');
  expect(text).not.toMatch(/NaN|null/);
  return text;
}

const sha = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Rewrite a model directory's manifest (and its checksum trailer, as an attacker or a careless edit would). */
function rewriteManifest(dir: string, f: (m: Record<string, unknown>) => void): void {
  const m = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
  f(m);
  const text = JSON.stringify(m);
  writeFileSync(join(dir, 'model.json'), text);
  writeFileSync(join(dir, 'model.json.sha256'), `${sha(text)}  model.json\n`);
}

/** Rewrite features.json and fix up its checksum in the manifest. */
function rewriteFeatures(dir: string, f: (j: { numeric: Record<string, unknown>[]; categorical: { values?: string[] }[] }) => void): void {
  const j = JSON.parse(readFileSync(join(dir, 'features.json'), 'utf8'));
  f(j);
  const text = JSON.stringify(j);
  writeFileSync(join(dir, 'features.json'), text);
  rewriteManifest(dir, (m) => ((m.checksums as Record<string, string>)['features.json'] = sha(text)));
}

describe('train --out never deletes what esmm did not write', () => {
  it('refuses a non-empty folder that is not a model (before any work), --force keeps its files', () => {
    const dir = tempDir('esmm-safety-');
    const cfg = config(dir);
    writeFileSync(join(dir, 'important.txt'), 'precious');
    const refused = run(['train', '--config', cfg, '--out', dir, '--quiet']);
    expect(refused.code).toBe(2);
    expect(oneLine(refused.stderr)).toMatch(/is not empty and is not an esmm model directory; choose another --out, or add --force/);
    expect(existsSync(join(dir, 'model.json'))).toBe(false);

    const forced = run(['train', '--config', cfg, '--out', dir, '--quiet', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(dir, 'important.txt'), 'utf8')).toBe('precious');
    expect(readFileSync(cfg, 'utf8')).toContain('synth');
    expect(existsSync(join(dir, 'model.json'))).toBe(true);
  });

  it('replacing a model keeps user files inside it; --force never replaces a user file named like an esmm file', () => {
    const dir = tempDir('esmm-safety-');
    const cfg = config(dir);
    const model = join(dir, 'm');
    expect(run(['train', '--config', cfg, '--out', model, '--quiet']).code).toBe(0);
    writeFileSync(join(model, 'notes.md'), 'mine');
    mkdirSync(join(model, 'plots'));
    writeFileSync(join(model, 'plots', 'a.png'), 'png');
    const again = run(['train', '--config', cfg, '--out', model, '--quiet', '--seed', '4']);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(model, 'notes.md'), 'utf8')).toBe('mine');
    expect(readFileSync(join(model, 'plots', 'a.png'), 'utf8')).toBe('png');
    expect(existsSync(join(model, 'model.onnx'))).toBe(false); // not written into model directories any more
    expect(readdirSync(model).filter((n) => n.startsWith('.'))).toEqual([]);

    const other = join(dir, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'params.bin'), 'not esmm');
    const r = run(['train', '--config', cfg, '--out', other, '--quiet', '--force']);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/params\.bin: exists and was not written by esmm/);
    expect(readFileSync(join(other, 'params.bin'), 'utf8')).toBe('not esmm');
  });
});

describe('kill -9 at every instant of a publication', () => {
  it('model directory: killed after the journal (mid-rename) rolls forward, killed while staging keeps the old model', async () => {
    const dir = tempDir('esmm-safety-');
    const cfg = config(dir);
    const model = join(dir, 'm');
    const data = scoreFile(dir);
    expect(run(['train', '--config', cfg, '--out', model, '--quiet']).code).toBe(0);
    const first = predict(model, data, join(dir, 'p1.csv'));

    const p = await pausedAt(['train', '--config', cfg, '--out', model, '--quiet', '--seed', '9'], 'model:midway');
    // The gap: some files of the new model are in place, the manifest is still the old one.
    expect(existsSync(join(model, '.esmm-publish.json'))).toBe(true);
    await p.kill();
    const second = predict(model, data, join(dir, 'p2.csv'));
    expect(second).not.toBe(first); // the new model (seed 9), completed from the journal
    expect(readdirSync(model).filter((n) => n.startsWith('.'))).toEqual([]);

    const q = await pausedAt(['train', '--config', cfg, '--out', model, '--quiet', '--seed', '11'], 'model:staged');
    await q.kill();
    expect(predict(model, data, join(dir, 'p3.csv'))).toBe(second); // untouched: the seed-9 model
  });

  it('checkpoint: killed mid-rename or after the journal, --resume still finishes; an edited state.json is refused', async () => {
    const dir = tempDir('esmm-safety-');
    const cfg = config(dir);
    for (const point of ['checkpoint:midway@2', 'checkpoint:journal@3']) {
      const out = join(dir, point.replace(/[:@]/g, '-'));
      const p = await pausedAt(['train', '--config', cfg, '--out', out, '--quiet'], point);
      expect(existsSync(join(out, 'checkpoint', '.esmm-publish.json'))).toBe(true);
      await p.kill();
      const r = run(['train', '--config', cfg, '--out', out, '--quiet', '--resume']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/resumed from step [1-9]/);
      expect(existsSync(join(out, 'metrics.json'))).toBe(true);
    }

    const out = join(dir, 'edited');
    const p = await pausedAt(['train', '--config', cfg, '--out', out, '--quiet'], 'checkpoint:staged@3');
    await p.kill();
    const state = join(out, 'checkpoint', 'state.json');
    writeFileSync(state, readFileSync(state, 'utf8').replace('"epoch":1', '"epoch":2'));
    const r = run(['train', '--config', cfg, '--out', out, '--quiet', '--resume']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/state\.json: checksum mismatch: the checkpoint state is corrupted/); // after the data's progress lines
  });

  it('a journal whose PID is alive waits (then refuses); a minute-old one is finished even if its PID was reused', async () => {
    const dir = tempDir('esmm-safety-');
    const cfg = config(dir);
    const model = join(dir, 'm');
    const data = scoreFile(dir);
    expect(run(['train', '--config', cfg, '--out', model, '--quiet']).code).toBe(0);
    const p = await pausedAt(['train', '--config', cfg, '--out', model, '--quiet', '--seed', '9'], 'model:midway');
    await p.kill();
    const journal = join(model, '.esmm-publish.json');
    const j = JSON.parse(readFileSync(journal, 'utf8')) as { pid: number };
    j.pid = 1; // a live process that is not esmm: a reused PID
    writeFileSync(journal, JSON.stringify(j));
    const busy = run(['predict', '--model', model, '--data', data, '--out', join(dir, 'p.csv')]);
    expect(busy.code).toBe(2);
    expect(oneLine(busy.stderr)).toMatch(/esmm process 1 is still publishing into this directory/);
    const old = new Date(Date.now() - 120_000);
    utimesSync(journal, old, old);
    predict(model, data, join(dir, 'p.csv'));
    expect(existsSync(journal)).toBe(false);
  });

  it('an older esmm killed between its two directory renames: the next load completes the swap', () => {
    const dir = tempDir('esmm-safety-');
    const model = join(dir, 'm');
    expect(run(['train', '--config', config(dir), '--out', model, '--quiet']).code).toBe(0);
    const data = scoreFile(dir);
    const before = predict(model, data, join(dir, 'p1.csv'));
    const pid = deadPid();
    // What the old rename(DIR -> .old); rename(tmp -> DIR) left when killed in between.
    cpSync(model, join(dir, `.m.${pid}.old`), { recursive: true });
    cpSync(model, join(dir, `.m.${pid}.1700000000000.tmp`), { recursive: true });
    spawnSync('rm', ['-r', model]);
    expect(predict(model, data, join(dir, 'p2.csv'))).toBe(before);
  });
});

describe('manifests are checksummed, confined and validated', () => {
  const dir = tempDir('esmm-safety-');
  const trained = join(dir, 'trained');
  const data = scoreFile(dir);
  const copy = (name: string): string => {
    if (!existsSync(trained)) expect(run(['train', '--config', config(dir), '--out', trained, '--quiet']).code).toBe(0);
    const to = join(dir, name);
    cpSync(trained, to, { recursive: true });
    return to;
  };
  const refused = (model: string, pattern: RegExp): void => {
    const out = join(dir, `${Math.random()}.csv`);
    const r = run(['predict', '--model', model, '--data', data, '--out', out]);
    expect(r.code, r.stderr).toBe(2);
    expect(oneLine(r.stderr)).toMatch(pattern);
    expect(existsSync(out)).toBe(false);
  };

  it('one edited digit in model.json is refused', () => {
    const m = copy('digit');
    const text = readFileSync(join(m, 'model.json'), 'utf8');
    writeFileSync(join(m, 'model.json'), text.replace(/"dim": (\d)/, (_s, d: string) => `"dim": ${(Number(d) + 1) % 10}`));
    refused(m, /model\.json: checksum mismatch: the model manifest is corrupted/);
  });

  it('a path outside the directory is refused, not read', () => {
    const m = copy('escape');
    rewriteManifest(m, (j) => {
      const t = (j.tables as { buffers: Record<string, string> }[])[0]!;
      t.buffers.weights = '../../../../etc/hostname';
      (j.checksums as Record<string, string>)['../../../../etc/hostname'] = sha('x');
    });
    refused(m, /"\.\.\/\.\.\/\.\.\/\.\.\/etc\/hostname" in a manifest points outside its directory/);
  });

  it('non-finite statistics, a trimmed vocabulary and null checksums are refused, never a NaN prediction', () => {
    const nan = copy('nan');
    rewriteFeatures(nan, (j) => {
      for (const n of j.numeric) if (n.transform === 'standardize_tanh') n.std = 0;
    });
    refused(nan, /numeric statistics out of range/);

    const trimmed = copy('trimmed');
    rewriteFeatures(trimmed, (j) => {
      const c = j.categorical.find((x) => x.values !== undefined && x.values.length > 3)!;
      c.values = c.values!.slice(0, 2);
    });
    refused(trimmed, /model does not fit together: categorical field/);

    for (const file of ['params.bin', 'emb/shared.0.weights.bin']) {
      const bad = copy(`nan-${file.replace(/\W/g, '-')}`);
      const bytes = readFileSync(join(bad, file));
      new DataView(bytes.buffer, bytes.byteOffset).setFloat32(4, Number.NaN, true);
      writeFileSync(join(bad, file), bytes);
      rewriteManifest(bad, (j) => ((j.checksums as Record<string, string>)[file] = sha(bytes)));
      refused(bad, /not a finite number|non-finite weight/);
    }

    const nulls = copy('nulls');
    rewriteManifest(nulls, (j) => (j.checksums = null));
    refused(nulls, /key 'checksums': expected a mapping/);
    const noTables = copy('no-tables');
    rewriteManifest(noTables, (j) => (j.tables = null));
    refused(noTables, /key 'tables': expected a list/);
  });
});

describe('export', () => {
  it('is one self-contained file by default; a split pair killed between its renames is refused', async () => {
    const dir = tempDir('esmm-safety-');
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    expect(run(['train', '--config', config(dir), '--out', a, '--quiet']).code).toBe(0);
    expect(run(['train', '--config', config(dir, 'c2.yaml', 6), '--out', b, '--quiet']).code).toBe(0); // other data: another vocabulary

    const readExport = await readExportFn();
    const single = join(dir, 'one.onnx');
    expect(run(['export', '--model', a, '--out', single]).code).toBe(0);
    expect(readdirSync(dir).filter((n) => n.startsWith('one'))).toEqual(['one.onnx']);
    expect(readExport(single).featureSpec.categoricalFields.length).toBeGreaterThan(0);

    const pair = join(dir, 'pair.onnx');
    expect(run(['export', '--model', a, '--out', pair, '--split-features']).code).toBe(0);
    expect(readExport(pair).featureSpecFile).toBe(join(dir, 'pair.features.json'));
    const p = await pausedAt(['export', '--model', b, '--out', pair, '--split-features'], 'export:between');
    await p.kill();
    expect(() => readExport(pair)).toThrow(/pair\.features\.json: the feature spec does not belong to this ONNX file/);
    expect(run(['export', '--model', b, '--out', pair, '--split-features']).code).toBe(0);
    expect(readExport(pair).featureSpec.toJSON()).toEqual(readExport(join(dir, 'one.onnx')).featureSpec.toJSON() === undefined ? null : expect.anything());
    expect(JSON.stringify(readExport(pair).featureSpec.toJSON())).toBe(readFileSync(join(dir, 'pair.features.json'), 'utf8'));
  });
});

describe('stale temp files of killed processes', () => {
  it('predict and train remove esmm temp files of dead processes only', () => {
    const dir = tempDir('esmm-safety-');
    const model = join(dir, 'm');
    const dead = deadPid();
    mkdirSync(model);
    mkdirSync(join(dir, `.m.${dead}.1700000000000.tmp`)); // older esmm's directory temp, model dir present
    writeFileSync(join(dir, `.m.${dead}.1700000000000.tmp`, 'x.bin'), 'x');
    const ck = join(model, `.checkpoint.${dead}.1700000000000.tmp`); // an older esmm's checkpoint temp, killed while filling it
    mkdirSync(ck);
    writeFileSync(join(ck, 'params.bin'), 'x');
    expect(run(['train', '--config', config(dir), '--out', model, '--quiet']).code).toBe(0);
    expect(existsSync(join(dir, `.m.${dead}.1700000000000.tmp`))).toBe(false);
    expect(existsSync(ck)).toBe(false);

    const outDir = join(dir, 'preds');
    mkdirSync(outDir);
    const stale = join(outDir, `.pred.csv.${dead}.tmp`);
    const live = join(outDir, `.pred.csv.${process.pid}.tmp`);
    const users = join(outDir, '.notes.tmp');
    for (const f of [stale, live, users]) writeFileSync(f, 'partial');
    predict(model, scoreFile(dir), join(outDir, 'pred.csv'));
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(users)).toBe(true);
  });

  it('preset copies: removed at exit, and those of dead processes by the next run', async () => {
    const { removeStaleRunTemps } = await import('../../src/util/run-temp.js');
    const root = tempDir('esmm-safety-root-');
    const dead = join(root, `esmm-preset-${deadPid()}-abcDEF`);
    const live = join(root, `esmm-preset-${process.pid}-abcDEF`);
    const other = join(root, 'esmm-preset-notours');
    for (const d of [dead, live, other]) mkdirSync(d);
    removeStaleRunTemps('preset', root);
    expect([existsSync(dead), existsSync(live), existsSync(other)]).toEqual([false, true, true]);

    const mod = join(import.meta.dirname, '..', '..', 'dist', 'src', 'util', 'run-temp.js');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const { runTempDir } = await import(${JSON.stringify(mod)}); console.log(runTempDir('preset'));`], { encoding: 'utf8' });
    const made = r.stdout.trim();
    expect(made).toMatch(/esmm-preset-\d+-/);
    expect(existsSync(made)).toBe(false);
  });
});

describe('output paths are checked before any work', () => {
  const dir = tempDir('esmm-safety-');
  const model = join(dir, 'm');
  const data = scoreFile(dir);
  const ensureModel = (): void => {
    if (!existsSync(join(model, 'model.json'))) expect(run(['train', '--config', config(dir), '--out', model, '--quiet']).code).toBe(0);
  };

  it('predict --out equal to --data (also through a link) is refused and the input kept', () => {
    ensureModel();
    const before = readFileSync(data, 'utf8');
    const r = run(['predict', '--model', model, '--data', data, '--out', data]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/--out is the same file as --data/);
    symlinkSync(data, join(dir, 'link.csv'));
    expect(run(['predict', '--model', model, '--data', data, '--out', join(dir, 'link.csv')]).code).toBe(2);
    expect(readFileSync(data, 'utf8')).toBe(before);
    const params = readFileSync(join(model, 'params.bin'));
    const intoModel = run(['predict', '--model', model, '--data', data, '--out', join(model, 'params.bin')]);
    expect(intoModel.code).toBe(2);
    expect(oneLine(intoModel.stderr)).toMatch(/--out is a file of the esmm model in/);
    expect(readFileSync(join(model, 'params.bin')).equals(params)).toBe(true);
  });

  it('a directory, a path under a file, /proc and /sys are one line each (no hang)', () => {
    ensureModel();
    const cases: [string[], RegExp][] = [
      [['predict', '--model', model, '--data', data, '--out', dir], /--out is a directory/],
      [['predict', '--model', model, '--data', data, '--out', join(data, 'x.csv')], /--out is under .*score\.csv, which is a file, not a folder/],
      [['predict', '--model', model, '--data', data, '--out', '/proc/nope/x.csv'], /--out is under \/proc/],
      [['eval', '--model', model, '--data', data, '--json', dir], /--json is a directory/],
      [['export', '--model', model, '--out', dir], /--out is a directory/],
      [['report', '--model', model, '--out', dir], /--out is a directory/],
      [['train', '--config', config(dir), '--out', '/sys/esmm-model'], /--out is under \/sys/],
      [['train', '--config', config(dir), '--out', join(data, 'm')], /which is a file, not a folder/],
      [['train', '--config', config(dir), '--out', join(dir, 'new'), '--report', dir], /--report is a directory/],
    ];
    for (const [args, pattern] of cases) {
      const r = run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(oneLine(r.stderr)).toMatch(pattern);
      expect(r.stderr).not.toMatch(/epoch|preparing/);
    }
    expect(existsSync(join(dir, 'new'))).toBe(false);
  });

  it.skipIf(process.getuid?.() === 0)('an output folder without write permission is refused (skipped as root: root may write anywhere)', () => {
    ensureModel();
    const ro = join(dir, 'ro');
    mkdirSync(ro, { mode: 0o555 });
    const r = run(['predict', '--model', model, '--data', data, '--out', join(ro, 'p.csv')]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/--out is not writable/);
  });
});
