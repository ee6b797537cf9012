/**
 * One error style everywhere: `esmm CMD: error: <one line>`, non-zero exit, no stack trace for
 * user errors; a bug prints one line and the ESMM_DEBUG hint; a closed stdout exits quietly.
 * Input paths that are directories are refused up front, naming the path and the flag or key.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFailure } from '../../src/cli/error-report.js';
import { runCli, tempDir } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'esmm.js');
const STACK = /\n\s+at .*[(:]\d+/;

function expectOneErrorLine(r: { code: number; stderr: string }, command: string, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]!.startsWith(`esmm ${command}: error: `)).toBe(true);
  expect(lines[0]!.slice(`esmm ${command}: error: `.length)).not.toMatch(/^esmm /); // no doubled prefix
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(STACK);
}

describe('one error style', () => {
  it('flag errors carry the prefix once', async () => {
    expectOneErrorLine(await runCli(['train']), 'train', /missing --config/);
    expectOneErrorLine(await runCli(['serve']), 'serve', /missing --model/);
    expectOneErrorLine(await runCli(['eval', '--bogus']), 'eval', /--bogus/);
  });

  it("synth names flags as flags, not as key '--out'", async () => {
    const dir = tempDir('esmm-style-');
    const r = await runCli(['synth', '--out', join(dir, 'o'), '--rows', 'many']);
    expectOneErrorLine(r, 'synth', /--rows expects an integer, got 'many'/);
    expect(r.stderr).not.toMatch(/key '--/);
    expectOneErrorLine(await runCli(['synth', '--rows', '10']), 'synth', /--out/);
    expectOneErrorLine(await runCli(['synth', '--out', join(dir, 'o'), '--nope']), 'synth', /--nope/);
  });

  it('an unknown command is one line', async () => {
    const r = await runCli(['fly']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^esmm: error: unknown command 'fly'/);
  });

  it('a bug prints one line and the ESMM_DEBUG hint; the stack only when asked', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    const quiet = describeFailure('train', bug, false);
    expect(quiet.code).toBe(1);
    expect(quiet.text.trim().split('\n')).toHaveLength(1);
    expect(quiet.text).toMatch(/^esmm train: internal error: TypeError: Cannot read.*ESMM_DEBUG=1/);
    expect(describeFailure('train', bug, true).text).toMatch(STACK);
  });

  it('a stray system error about a path is one line naming the path, exit 2', () => {
    const e = Object.assign(new Error("EISDIR: illegal operation on a directory, read"), { code: 'EISDIR', path: '/tmp/x', syscall: 'read' });
    const f = describeFailure('report', e, false);
    expect(f).toEqual({ text: 'esmm report: error: /tmp/x: is a directory, expected a file\n', code: 2 });
  });
});

describe('input paths that are directories', () => {
  const dir = tempDir('esmm-dirpath-');
  mkdirSync(join(dir, 'adir'));
  writeFileSync(join(dir, 'train.csv'), 'user_id,item_id,price,click,buy\nu1,i1,1,1,0\nu2,i2,2,0,0\n');
  const cfg = (train: string, valid?: string): string => {
    const file = join(dir, `c-${train}-${valid ?? ''}.yaml`);
    writeFileSync(file, [
      `data: { train: ${train}${valid !== undefined ? `, valid: ${valid}` : ''} }`,
      'schema: { labels: { click: click, buy: buy }, categorical: [user_id, item_id], numeric: [price] }',
      'model: { tower: [4] }',
      '',
    ].join('\n'));
    return file;
  };

  it('--config DIR', async () => {
    expectOneErrorLine(await runCli(['train', '--config', join(dir, 'adir'), '--out', join(dir, 'm1')]), 'train', /adir \(--config\): is a directory/);
  });

  it('data.train and data.valid directories name the key, before reading anything', async () => {
    expectOneErrorLine(await runCli(['train', '--config', cfg('adir'), '--out', join(dir, 'm2'), '--quiet']), 'train', /adir \(.*key 'data\.train'\): is a directory/);
    expectOneErrorLine(await runCli(['train', '--config', cfg('train.csv', 'adir'), '--out', join(dir, 'm3'), '--quiet']), 'train', /adir \(.*key 'data\.valid'\): is a directory/);
  });

  it('predict --data DIR and eval --data DIR', async () => {
    const model = join(dir, 'model');
    const t = await runCli(['train', '--config', cfg('train.csv'), '--out', model, '--quiet', '--epochs', '1']);
    expect(t.code).toBe(0);
    expectOneErrorLine(await runCli(['predict', '--model', model, '--data', join(dir, 'adir'), '--out', join(dir, 'p.csv')]), 'predict', /adir \(--data\): is a directory/);
    expectOneErrorLine(await runCli(['eval', '--model', model, '--data', join(dir, 'adir')]), 'eval', /adir \(--data\): is a directory/);
  });
});

describe('stdout closed early', () => {
  it('exits quietly, like other Unix tools (no EPIPE stack trace)', async () => {
    const child = spawn(process.execPath, [BIN, 'help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before esmm writes its first byte
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
