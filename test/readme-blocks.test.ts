/**
 * Every command block (```sh) and the config block (```yaml) of README.md, run as a user would,
 * in order, against small data. The README stays readable; the substitutions that make a command
 * small (rows, epochs, paths to fixtures) are the documented list SUBSTITUTIONS below, and the
 * lines this test does not run are listed in NOT_RUN with the reason. A new README command that
 * neither list covers fails the test. The ```ts snippet is run by readme-example.test.ts.
 *
 * Each command's time and the tail of its output are printed and written to
 * $TMPDIR/esmm-readme-blocks.json (figures to read, never asserted).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'esmm.js');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SHARED = join(ROOT, '..', 'shared', 'data');
const ALI_RAW = join(ROOT, 'test', 'fixtures', 'ali-ccp-raw');
const EVENTS = join(ROOT, 'test', 'fixtures', 'events');
const SMALL_ROWS = '20000';

/** README text -> what runs here, applied in order to each command line. */
const SUBSTITUTIONS: readonly { from: string | RegExp; to: string; why: string }[] = [
  { from: /^npx esmm /, to: 'esmm ', why: 'esmm is run as `node bin/esmm.js` from this tree' },
  { from: /^npm run demo$/, to: `esmm demo --rows ${SMALL_ROWS} --epochs 1`, why: 'the demo script is tsc then `node bin/esmm.js demo`; small data' },
  { from: '--rows 200000', to: `--rows ${SMALL_ROWS}`, why: 'small data' },
  { from: '--out /tmp/s ', to: '--out . ', why: 'synth writes beside the README config (my.yaml), whose paths are relative to it' },
  { from: /^esmm train --config esmm (.*)$/, to: `esmm train --config esmm $1 --rows ${SMALL_ROWS} --epochs 1`, why: 'small data' },
  { from: ' [--resume]', to: '', why: 'optional, for after a crash: run as written; the real kill and --resume are test/cli/resume.test.ts' },
  { from: 'new.csv', to: 'test.csv', why: "new rows to score: the simulator's test split" },
  { from: 'sample_skeleton_train.csv', to: join(ALI_RAW, 'sample_skeleton_fixture.csv'), why: 'the raw Ali-CCP fixture' },
  { from: 'common_features_train.csv', to: join(ALI_RAW, 'common_features_fixture.csv'), why: 'the raw Ali-CCP fixture' },
  { from: /--train adult\.data --test adult\.test (.*)$/, to: `--train ${join(SHARED, 'adult', 'adult.data')} --test ${join(SHARED, 'adult', 'adult.test')} $1 --epochs 1`, why: 'the shared UCI Adult files; one epoch' },
  { from: '--port 8080', to: '--port 0', why: 'a free port on 127.0.0.1' },
  { from: /^esmm tune (.*) --budget 20m (.*)$/, to: 'esmm tune $1 --budget 30s --trials 4 --rows 5000 $2', why: 'a small search: 4 trials on 5,000 simulated rows' },
  { from: 'UserBehavior.csv', to: join(EVENTS, 'taobao-sample.csv'), why: 'a small Taobao UserBehavior-format fixture' },
  { from: '2019-Oct.csv', to: join(EVENTS, 'rees46-sample.csv'), why: 'a small REES46-format fixture' },
  { from: '--input events.csv', to: `--input ${join(EVENTS, 'rees46-sample.csv')}`, why: 'a generic log: the REES46 fixture named column by column' },
];

/** README lines not run here, with the reason (each is still checked to name something real). */
const NOT_RUN: Record<string, { why: string; check: () => void }> = {
  'npm ci': { why: 'installs packages: this test runs inside an installed tree', check: () => expect(existsSync(join(ROOT, 'package-lock.json'))).toBe(true) },
  'npm test': { why: 'the test suite that runs this test', check: () => expect(pkgScript('test')).toMatch(/vitest run/) },
  'npm run bench': { why: 'benchmarks print figures and take minutes; never run by tests', check: () => expect(pkgScript('bench')).toMatch(/dist\/bench\/run\.js/) },
  'npm run bench:e2e': { why: 'the end-to-end training bench against PyTorch prints figures and takes minutes; never run by tests', check: () => expect(pkgScript('bench:e2e')).toMatch(/dist\/bench\/e2e\.js/) },
  'npm run bench -- --workers 1,2': { why: 'the same benchmark at 1 and 2 training workers; never run by tests', check: () => expect(readFileSync(join(ROOT, 'bench', 'run.ts'), 'utf8')).toMatch(/--workers/) },
};
/** The benchmarks block: scripts that print figures; never run by tests (house rule), checked to exist. */
const BENCH = /^node dist\/bench\/([a-z0-9-]+)\.js/;

function pkgScript(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[name] ?? '';
}

function blocks(lang: string): string[] {
  return [...README.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

/** Command lines of the ```sh blocks: comments stripped, `a && b` split. */
function commands(): string[] {
  return blocks('sh')
    .flatMap((b) => b.split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '')
    .flatMap((l) => l.split('&&').map((c) => c.trim()));
}

function substitute(line: string): string {
  let out = line;
  for (const s of SUBSTITUTIONS) out = typeof s.from === 'string' ? out.replace(s.from, s.to) : out.replace(s.from, s.to);
  return out;
}

interface Ran {
  readme: string;
  ran: string;
  seconds: number;
  code: number | null;
  excerpt: string;
}

const ran: Ran[] = [];

/** Run one esmm command as a real process (async: a blocked worker loses vitest's heartbeat). */
async function esmm(readme: string, line: string, cwd: string): Promise<{ stdout: string; stderr: string }> {
  const args = line.split(/\s+/).slice(1);
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const r = { status, stdout, stderr };
  const seconds = (performance.now() - t0) / 1000;
  const both = `${r.stdout}${r.stderr}`.replace(/\r[^\n]*/g, '');
  const excerpt = both.trim().split('\n').slice(-4).join('\n');
  ran.push({ readme, ran: line, seconds, code: r.status, excerpt });
  console.log(`$ ${readme}\n  (ran: ${line})  ${seconds.toFixed(1)} s, exit ${r.status}\n${excerpt.replace(/^/gm, '  | ')}`);
  expect(r.status, `${line}\n${r.stderr}`).toBe(0);
  expect(r.stderr).not.toMatch(/error/i);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** `esmm serve`: start it, score a row over HTTP on 127.0.0.1, stop it with SIGTERM. */
async function serve(readme: string, line: string, cwd: string): Promise<void> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...line.split(/\s+/).slice(1)], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m !== null) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  const health = await fetch(`${url}/healthz`);
  expect(health.status).toBe(200);
  const [header, first] = readFileSync(join(cwd, 'test.csv'), 'utf8').split('\n');
  const row = Object.fromEntries(header!.split(',').map((k, i) => [k, first!.split(',')[i]]));
  const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: [row] }) });
  const body = (await res.text()).slice(0, 200);
  expect(res.status, body).toBe(200);
  expect(body).toMatch(/pctr/);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  const code = await exited;
  const seconds = (performance.now() - t0) / 1000;
  ran.push({ readme, ran: line, seconds, code, excerpt: `${stderr.trim().split('\n')[0]}\nPOST /predict -> ${body}` });
  console.log(`$ ${readme}\n  (ran: ${line})  ${seconds.toFixed(1)} s\n  | POST /predict -> ${body}`);
  expect(code).toBe(0);
}

/** What each command must have produced, beyond exit 0 and no error line. */
function checkOutput(line: string, out: { stdout: string; stderr: string }, cwd: string): void {
  const both = out.stdout + out.stderr;
  const verb = line.split(/\s+/)[1];
  if (verb === 'synth') expect(both).toMatch(/impressions \d+ \(train \d+, valid \d+, test \d+\)/);
  if (verb === 'train' || verb === 'demo' || verb === 'compare') expect(out.stdout).toMatch(/^model\s+AUC/m);
  if (verb === 'demo') expect(out.stdout).toMatch(/entire space, truth/);
  if (verb === 'predict') {
    const rows = readFileSync(join(cwd, 'test.csv'), 'utf8').trim().split('\n').length;
    expect(readFileSync(join(cwd, 'pred.csv'), 'utf8').trim().split('\n')).toHaveLength(rows);
  }
  if (verb === 'eval') expect(JSON.parse(readFileSync(join(cwd, 'eval.json'), 'utf8')).auc_ctr).toBeGreaterThan(0);
  if (verb === 'compare') {
    const text = readFileSync(join(cwd, 'cmp.json'), 'utf8');
    for (const m of ['esmm', 'esm2', 'naive_cvr', 'division', 'esmm_ns']) expect(text).toContain(`"${m}"`);
  }
  if (verb === 'convert') expect(existsSync(join(cwd, 'train.parquet'))).toBe(true);
  if (verb === 'export') expect(existsSync(join(cwd, 'model.onnx'))).toBe(true);
  if (verb === 'tune') expect(readFileSync(join(cwd, 'runs', 'tune', 'best.yaml'), 'utf8')).toMatch(/^# written by esmm tune/);
  if (verb === 'report') expect(readFileSync(join(cwd, 'report.html'), 'utf8')).toMatch(/<html/i);
}

describe('README.md, block by block', () => {
  it('the config block names only columns the simulator writes', () => {
    const [config] = blocks('yaml');
    expect(config).toBeDefined();
    // Columns the simulator writes (valid/test also carry the truth columns).
    const dir = mkdtempSync(join(tmpdir(), 'esmm-readme-cols-'));
    const r = spawnSync(process.execPath, [BIN, 'synth', '--out', dir, '--rows', '2000', '--quiet'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const header = new Set(readFileSync(join(dir, 'test.csv'), 'utf8').split('\n')[0]!.split(','));
    const schema = (parse(config!) as { schema: Record<string, unknown> }).schema as {
      labels: { click: string; buy: string; actions?: string[] };
      categorical?: string[];
      multi_valued?: { name: string }[];
      numeric?: string[];
      group?: string;
      truth?: string[];
    };
    const named = [
      schema.labels.click,
      schema.labels.buy,
      ...(schema.labels.actions ?? []),
      ...(schema.categorical ?? []),
      ...(schema.multi_valued ?? []).map((m) => m.name),
      ...(schema.numeric ?? []),
      ...(schema.group !== undefined ? [schema.group] : []),
      ...(schema.truth ?? []),
    ];
    expect(named.length).toBeGreaterThan(8);
    for (const column of named) expect([...header], `README config column '${column}'`).toContain(column);
  });

  it('every command runs against small data and says something sensible', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'esmm-readme-'));
    const lines = commands();
    expect(lines.length).toBeGreaterThan(10);
    for (const readme of lines) {
      const skip = NOT_RUN[readme];
      if (skip !== undefined) {
        skip.check();
        console.log(`$ ${readme}\n  not run: ${skip.why}`);
        continue;
      }
      const bench = BENCH.exec(readme);
      if (bench !== null) {
        expect(existsSync(join(ROOT, 'bench', `${bench[1]}.ts`)), readme).toBe(true);
        console.log(`$ ${readme}\n  not run: a benchmark (figures come from bench/, never from tests)`);
        continue;
      }
      const line = substitute(readme);
      expect(line, `README command not covered by this test: ${readme}`).toMatch(/^esmm [a-z]+/);
      if (line.includes(SHARED) && !existsSync(SHARED)) {
        console.warn(`$ ${readme}\n  skipped: the shared data is absent at ${SHARED}`);
        continue;
      }
      if (line.startsWith('esmm serve')) {
        await serve(readme, line, cwd);
        continue;
      }
      if (line.includes('--config my.yaml') && !existsSync(join(cwd, 'my.yaml'))) writeFileSync(join(cwd, 'my.yaml'), blocks('yaml')[0]!);
      checkOutput(line, await esmm(readme, line, cwd), cwd);
    }
    writeFileSync(join(tmpdir(), 'esmm-readme-blocks.json'), `${JSON.stringify(ran, null, 2)}\n`);
    expect(readdirSync(cwd)).toContain('runs');
  }, 1_800_000);
});
