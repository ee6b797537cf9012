import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinConfigNames } from '../../src/api/load-config.js';
import { listPresets } from '../../src/datasets/presets.js';
import { parseCommand } from '../../src/cli/flags.js';
import { commandSpecs } from '../../src/cli/main.js';
import { runCli } from './helpers.js';

const root = join(import.meta.dirname, '..', '..');
/** Help wraps at 80 columns: compare with runs of spaces and line breaks folded. */
const flat = (s: string): string => s.replace(/\s+/g, ' ');

describe('esmm CMD --help', () => {
  const specs = commandSpecs();

  it('covers the twelve commands', () => {
    expect(specs.map((s) => s.name).sort()).toEqual(['compare', 'convert', 'demo', 'eval', 'export', 'launch', 'predict', 'report', 'serve', 'synth', 'train', 'tune']);
  });

  for (const spec of specs) {
    it(`${spec.name}: --help, -h and 'help ${spec.name}' exit 0 with every flag, its default and an example`, async () => {
      const long = await runCli([spec.name, '--help']);
      expect(long.code).toBe(0);
      expect(long.stderr).toBe('');
      const short = await runCli([spec.name, '-h']);
      const topic = await runCli(['help', spec.name]);
      expect(short).toEqual(long);
      expect(topic).toEqual(long);
      const text = flat(long.stdout);
      expect(text).toMatch(new RegExp(`^usage: esmm ${spec.name}`));
      for (const [name, flag] of Object.entries(spec.flags)) {
        expect(text).toContain(`--${name}`);
        if (flag.type === 'string') expect(text).toContain(`(default: ${flat(flag.default ?? '')})`);
      }
      expect(long.stdout).toMatch(new RegExp(`examples?:\\n  esmm ${spec.name} `));
      for (const line of long.stdout.split('\n').filter((l) => !l.startsWith('  esmm ') && !l.startsWith('usage:') && !l.startsWith('       esmm'))) {
        expect(line.length, line).toBeLessThanOrEqual(80);
      }
    });

    it(`${spec.name}: the parser accepts exactly the flags the help lists`, () => {
      const helpFlags = [...long(spec.name).matchAll(/(?:^|\s)--([a-z][a-z-]*)/g)].map((m) => m[1]!).filter((f) => f !== 'help');
      // Every flag printed in the options section parses; each takes a value or none as declared.
      for (const name of Object.keys(spec.flags)) {
        expect(helpFlags).toContain(name);
        const argv = spec.flags[name]!.type === 'string' ? [`--${name}`, 'x'] : [`--${name}`];
        expect(() => parseCommand(spec, [...(spec.positionals !== undefined ? Object.keys(spec.positionals) : []), ...argv])).not.toThrow();
      }
      expect(() => parseCommand(spec, ['--no-such-flag'])).toThrow(/unknown option '--no-such-flag' \(see 'esmm [a-z]+ --help'\)/);
    });
  }

  it('help wins over a bad flag on the same line', async () => {
    const r = await runCli(['train', '--bogus', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: esmm train/);
  });

  it("'help NOPE' names the unknown command and exits 2", async () => {
    const r = await runCli(['help', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'nope'/);
  });
});

/** The help text of a command, captured synchronously from the spec (no process needed). */
function long(name: string): string {
  const spec = commandSpecs().find((s) => s.name === name)!;
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    parseCommand(spec, ['--help']);
  } finally {
    process.stdout.write = write;
  }
  return out.slice(out.indexOf('options:'));
}

describe('esmm --help and --version', () => {
  it('the global usage lists every command, the built-in configs and the presets', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const spec of commandSpecs()) expect(r.stdout).toMatch(new RegExp(`^  ${spec.name} +\\S`, 'm'));
    for (const name of builtinConfigNames()) expect(r.stdout).toContain(name);
    expect(builtinConfigNames()).toContain('esmm');
    for (const p of listPresets()) expect(r.stdout).toMatch(new RegExp(`^  ${p.name} +\\S`, 'm'));
    for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('a real process prints the package.json version and exits 0', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const out = execFileSync(process.execPath, [join(root, 'bin', 'esmm.js'), '--version'], { encoding: 'utf8' });
    expect(out.trim()).toBe(`esmm ${pkg.version}`);
  });

  it('a real process exits 0 on train --help', () => {
    const out = execFileSync(process.execPath, [join(root, 'bin', 'esmm.js'), 'train', '--help'], { encoding: 'utf8' });
    expect(out).toMatch(/^usage: esmm train --config FILE\|NAME/);
  });
});
