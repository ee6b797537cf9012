/**
 * The hostile catalogue of issue 10, replayed against the built CLI (`node bin/esmm.js ...` in
 * temp dirs) and a running `esmm serve` on 127.0.0.1. Each case says what a correct esmm does:
 *   error  one line `esmm CMD: error: ...` (optionally matching a pattern), non-zero exit, no
 *          stack trace, and whatever the case checks afterwards (files kept, input unchanged);
 *   ok     exit 0 and the case's check (output written, stdout closed quietly, ...);
 *   http   the server answers with the expected status (and the case's check).
 * Anything else is a defect; a stack trace on stderr is counted on its own as well. Then 200
 * concurrent requests of 5000 rows each, measuring the server's peak RSS (VmHWM).
 * Not a test: it prints figures. Run: npx tsc -p tsconfig.json && node dist/bench/abuse.js
 * Only 127.0.0.1 is contacted. 192.0.2.1 (TEST-NET-1) is only passed to bind(), which sends no
 * traffic; the unknown-host case is a malformed name that must be refused without a lookup.
 */
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectDuckDB, sqlString } from '../src/data/duckdb.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'esmm.js');
const STACK = /\n\s+at .+(:\d+:\d+\)?|\(native\))|node:internal|^\s+at /m;

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  seconds: number;
}

type Expect = { kind: 'error'; match?: RegExp } | { kind: 'ok' } | { kind: 'http'; status: number };

interface Case {
  group: string;
  name: string;
  expect: Expect;
  run: () => Promise<Run | HttpResult>;
  /** Extra condition for a correct outcome (files kept, output written, ...). */
  check?: (r: Run | HttpResult) => boolean | string;
}

interface HttpResult {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

function esmm(args: string[], opts: { cwd?: string; timeoutS?: number; closeStdout?: boolean; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((done) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ESMM_DEBUG: '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    if (opts.closeStdout === true) child.stdout.destroy();
    else child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, (opts.timeoutS ?? 120) * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, timedOut, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

function request(url: string, method: string, body?: string | Buffer, headers: Record<string, string> = {}, agent: http.Agent | false = false): Promise<HttpResult> {
  return new Promise((done) => {
    // A server that answers before the whole body is sent (413) then closes: the upload may end in
    // EPIPE after the reply arrived, as curl and browsers see it too. The reply is what counts.
    let answered: HttpResult | undefined;
    const req = http.request(url, { method, headers, agent }, (res) => {
      const parts: Buffer[] = [];
      answered = { status: res.statusCode!, text: '', headers: res.headers };
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => done({ status: res.statusCode!, text: Buffer.concat(parts).toString('utf8'), headers: res.headers }));
      res.on('error', () => done({ status: -1, text: 'response error', headers: {} }));
    });
    req.on('error', (e) => done(answered ?? { status: -1, text: String(e), headers: {} }));
    req.end(body);
  });
}

const JSON_TYPE = { 'Content-Type': 'application/json' };

/** Headers and part of a POST body, then silence. */
function stalledPost(port: number): Promise<net.Socket> {
  return new Promise((done) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"rows": [');
      done(socket);
    });
    socket.on('error', () => undefined);
  });
}

function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((done) => {
    let reply = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    socket.on('data', (d: Buffer) => (reply += d.toString()));
    socket.on('close', () => done(reply));
    socket.on('error', () => done(reply));
  });
}

/** A running `esmm serve` child and its stderr. */
class ServeProcess {
  stderr = '';
  exited: Promise<{ code: number | null; signal: string | null }>;
  private constructor(readonly child: ChildProcess, readonly url: string, readonly port: number) {
    this.exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
  }

  static async start(args: string[]): Promise<ServeProcess> {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const url = await new Promise<string>((done, fail) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m !== null) done(m[1]!);
      });
      child.on('exit', () => fail(new Error(`esmm serve exited: ${stderr}`)));
    });
    const s = new ServeProcess(child, url, Number(new URL(url).port));
    s.stderr = stderr;
    child.stderr!.on('data', (d: Buffer) => (s.stderr += d.toString()));
    return s;
  }

  /** Resident set now and at its peak (kB), from /proc (Linux). */
  memory(): { rssKb: number; peakKb: number } {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKb: kb('VmRSS'), peakKb: kb('VmHWM') };
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(os.tmpdir(), 'esmm-abuse-'));
  const w = (...p: string[]): string => join(work, ...p);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  // A small model on simulated data, and the files the cases start from.
  log(`abuse bench in ${work}: training a small model`);
  const synth = await esmm(['synth', '--out', w('data'), '--rows', '4000', '--seed', '3', '--quiet']);
  if (synth.code !== 0) throw new Error(`synth failed: ${synth.stderr}`);
  const header = readFileSync(w('data', 'train.csv'), 'utf8').split('\n')[0]!;
  const schemaYaml = 'schema: synth';
  const baseConfig = (extra: { data?: string; train?: string; schema?: string; features?: string } = {}): string =>
    [
      `data: { ${extra.data ?? 'train: data/train.csv, valid: data/valid.csv'} }`,
      extra.schema ?? schemaYaml,
      extra.features ?? '',
      'model: { name: esmm, embedding_dim: 4, tower: [16, 8] }',
      `train: { epochs: 1, batch_size: 256, threads: 1${extra.train ?? ''} }`,
      '',
    ].join('\n');
  writeFileSync(w('good.yaml'), baseConfig());
  const model = w('model');
  const trained = await esmm(['train', '--config', w('good.yaml'), '--out', model, '--quiet'], { cwd: work });
  if (trained.code !== 0) throw new Error(`train failed: ${trained.stderr}`);
  mkdirSync(w('adir'));
  writeFileSync(w('afile'), 'not a directory\n');
  const testCsv = w('data', 'test.csv');
  const testBefore = readFileSync(testCsv, 'utf8');
  const tokenFile = w('token');
  writeFileSync(tokenFile, 'abuse-bench-token-0123456789\n');

  const cfg = (name: string, text: string): string => {
    writeFileSync(w(name), text);
    return w(name);
  };
  const dataFile = (name: string, text: string): string => {
    writeFileSync(w('data', name), text);
    return w('data', name);
  };
  const goodRow = readFileSync(w('data', 'train.csv'), 'utf8').split('\n')[1]!;
  const cols = header.split(',');
  const withCell = (column: string, value: string): string => {
    const cells = goodRow.split(',');
    cells[cols.indexOf(column)] = value;
    return cells.join(',');
  };
  const withCells = (values: Record<string, string>): string => {
    const cells = goodRow.split(',');
    for (const [column, value] of Object.entries(values)) cells[cols.indexOf(column)] = value;
    return cells.join(',');
  };
  const trainOn = (csvName: string, rows: string[]): string[] => {
    dataFile(csvName, `${header}\n${Array.from({ length: 50 }, () => goodRow).join('\n')}\n${rows.join('\n')}\n`);
    return ['train', '--config', cfg(`${csvName}.yaml`, baseConfig({ data: `train: data/${csvName}` })), '--out', w(`out-${csvName}`), '--quiet'];
  };
  /** A copy of the model with its manifest edited; `resum` also rewrites the manifest's own checksum (a deliberate edit that only the shape checks can catch). */
  const corruptModel = (name: string, edit: (manifest: Record<string, unknown>, dir: string) => void, resum = false): string => {
    const dir = w(`corrupt-${name}`);
    cpSync(model, dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    edit(m, dir);
    const text = JSON.stringify(m);
    writeFileSync(join(dir, 'model.json'), text);
    if (resum) writeFileSync(join(dir, 'model.json.sha256'), `${createHash('sha256').update(text).digest('hex')}  model.json\n`);
    return dir;
  };
  const predictWith = (dir: string): string[] => ['predict', '--model', dir, '--data', testCsv, '--out', w(`pred-${Math.random().toString(36).slice(2)}.csv`)];
  const jsonl = (rows: Record<string, unknown>[]): string => rows.map((r) => JSON.stringify(r)).join('\n');
  const goodObj = Object.fromEntries(cols.map((c, i) => [c, goodRow.split(',')[i]!]));
  const parquetList = w('data', 'list.parquet');
  {
    const con = await connectDuckDB();
    await con.run(`COPY (SELECT * REPLACE ([item_id, item_id] AS item_id) FROM read_csv(${sqlString(w('data', 'train.csv'))}, all_varchar=true) LIMIT 100) TO ${sqlString(parquetList)} (FORMAT PARQUET)`);
  }
  const busyPort = net.createServer();
  await new Promise<void>((done) => busyPort.listen(0, '127.0.0.1', done));
  const usedPort = (busyPort.address() as net.AddressInfo).port;

  const err = (match?: RegExp): Expect => ({ kind: 'error', ...(match !== undefined ? { match } : {}) });
  const OK: Expect = { kind: 'ok' };
  const cli = (group: string, name: string, expect: Expect, args: string[] | (() => string[]), check?: Case['check'], opts: Parameters<typeof esmm>[1] = {}): Case => ({
    group,
    name,
    expect,
    run: () => esmm(typeof args === 'function' ? args() : args, { cwd: work, ...opts }),
    // (args is a function where the case prepares files first)
    ...(check !== undefined ? { check } : {}),
  });
  const kept = (...files: string[]) => (): boolean | string => files.find((f) => !existsSync(f)) === undefined || `lost ${files.find((f) => !existsSync(f))}`;

  const cases: Case[] = [
    // Bad paths
    cli('paths', 'train --config DIR', err(/is a directory/), ['train', '--config', w('adir'), '--out', w('o1')]),
    cli('paths', 'data.train is a directory', err(/data\.train.*is a directory/), ['train', '--config', cfg('d1.yaml', baseConfig({ data: 'train: adir' })), '--out', w('o2')]),
    cli('paths', 'data.valid is a directory', err(/data\.valid.*is a directory/), ['train', '--config', cfg('d2.yaml', baseConfig({ data: 'train: data/train.csv, valid: adir' })), '--out', w('o3')]),
    cli('paths', 'predict --data DIR', err(/is a directory/), ['predict', '--model', model, '--data', w('adir'), '--out', w('p1.csv')]),
    cli('paths', 'eval --data DIR', err(/is a directory/), ['eval', '--model', model, '--data', w('adir')]),
    cli('paths', 'train --config missing.yaml', err(/not found|no such/), ['train', '--config', w('missing.yaml'), '--out', w('o4')]),
    cli('paths', 'predict --model missing', err(/model/), ['predict', '--model', w('nope'), '--data', testCsv, '--out', w('p2.csv')]),
    cli('paths', 'predict --model FILE', err(/model/), ['predict', '--model', w('afile'), '--data', testCsv, '--out', w('p3.csv')]),
    cli('paths', 'serve --token-file DIR', err(/is a directory/), ['serve', '--model', model, '--port', '0', '--token-file', w('adir')]),
    // Output paths and data loss (the safety branch's part)
    // In a sandbox of its own: on a build that loses data, this empties the folder.
    cli('outputs', 'train --out . (a folder with files)', err(), () => {
      mkdirSync(w('sandbox'), { recursive: true });
      cpSync(w('data'), w('sandbox', 'data'), { recursive: true });
      writeFileSync(w('sandbox', 'good.yaml'), baseConfig());
      writeFileSync(w('sandbox', 'notes.txt'), 'mine');
      return ['train', '--config', 'good.yaml', '--out', '.', '--quiet'];
    }, kept(w('sandbox', 'good.yaml'), w('sandbox', 'notes.txt'), w('sandbox', 'data', 'train.csv')), { cwd: w('sandbox') }),
    cli('outputs', 'train --out DIR holding important.txt', err(), () => {
      mkdirSync(w('precious'), { recursive: true });
      writeFileSync(w('precious', 'important.txt'), 'keep me');
      return ['train', '--config', w('good.yaml'), '--out', w('precious'), '--quiet'];
    }, kept(w('precious', 'important.txt'))),
    cli('outputs', 'predict --out DIR', err(), ['predict', '--model', model, '--data', testCsv, '--out', w('adir')]),
    cli('outputs', 'predict --out under a file', err(), ['predict', '--model', model, '--data', testCsv, '--out', w('afile', 'x.csv')]),
    cli('outputs', 'eval --json DIR', err(), ['eval', '--model', model, '--data', testCsv, '--json', w('adir')]),
    cli('outputs', 'report --out DIR', err(), ['report', '--model', model, '--out', w('adir')]),
    cli('outputs', 'export --out DIR', err(), ['export', '--model', model, '--out', w('adir')]),
    cli('outputs', 'predict --out /proc/nope/x.csv (must not hang)', err(), ['predict', '--model', model, '--data', testCsv, '--out', '/proc/nope/x.csv'], undefined, { timeoutS: 30 }),
    cli('outputs', 'predict --out /sys/x.csv', err(), ['predict', '--model', model, '--data', testCsv, '--out', '/sys/x.csv'], undefined, { timeoutS: 30 }),
    cli('outputs', 'predict --out equal to --data', err(), () => {
      cpSync(testCsv, w('same.csv'));
      return ['predict', '--model', model, '--data', w('same.csv'), '--out', w('same.csv')];
    }, () => readFileSync(w('same.csv'), 'utf8') === testBefore || 'input overwritten'),
    // Corrupted model directories
    cli('manifests', 'checksums: null', err(/checksums/), () => predictWith(corruptModel('cnull', (m) => (m.checksums = null), true))),
    cli('manifests', 'tables: null', err(/tables/), () => predictWith(corruptModel('tnull', (m) => (m.tables = null), true))),
    cli('manifests', 'params.bin bit flip', err(/checksum|corrupt/), () => {
      const dir = corruptModel('flip', () => undefined);
      const b = readFileSync(join(dir, 'params.bin'));
      b[b.length >> 1] ^= 0x10;
      writeFileSync(join(dir, 'params.bin'), b);
      return predictWith(dir);
    }),
    cli('manifests', 'model.json not JSON', err(/JSON/), () => {
      const dir = corruptModel('nojson', () => undefined);
      writeFileSync(join(dir, 'model.json'), '{"format": "esmm-model", ');
      return predictWith(dir);
    }),
    cli('manifests', 'format version 999', err(/version/), () => predictWith(corruptModel('v999', (m) => (m.version = 999)))),
    cli('manifests', 'a buffer path leaving the directory', err(), () => predictWith(corruptModel('escape', (m) => {
      const t = (m.tables as { buffers: Record<string, string> }[])[0]!;
      const k = Object.keys(t.buffers)[0]!;
      t.buffers[k] = '../../../../../../etc/hostname';
    }))),
    cli('manifests', 'one digit of the manifest edited (train.seed)', err(), () => predictWith(corruptModel('digit', (m) => {
      const train = (m.config as { train: { seed: number } }).train;
      train.seed += 1;
    }))),
    // Bad configs
    cli('configs', 'learning_rate 1e308', err(/learning_rate/), ['train', '--config', cfg('lr.yaml', baseConfig({ train: ', learning_rate: 1e308' })), '--out', w('o5')]),
    cli('configs', '--lr 1e308', err(/learning_rate/), ['train', '--config', w('good.yaml'), '--lr', '1e308', '--out', w('o6')]),
    cli('configs', 'a 20-digit seed', err(/train\.seed/), ['train', '--config', w('good.yaml'), '--seed', '12345678901234567890', '--out', w('o7')]),
    cli('configs', 'unknown key', err(/unknown key/), ['train', '--config', cfg('uk.yaml', baseConfig({ train: ', learnin_rate: 0.1' })), '--out', w('o8')]),
    cli('configs', 'epochs: 0', err(/epochs/), ['train', '--config', cfg('e0.yaml', baseConfig({ train: ', epochs: 0' }).replace('epochs: 1, ', '')), '--out', w('o9')]),
    cli('configs', 'YAML syntax error', err(/parse/), ['train', '--config', cfg('bad.yaml', 'data: { train: [\n'), '--out', w('o10')]),
    cli('configs', 'label used as a feature', err(/leakage/), ['train', '--config', cfg('leak.yaml', baseConfig({ schema: 'schema: { labels: { click: click, buy: buy }, categorical: [user_id, click] }' })), '--out', w('o11')]),
    cli('configs', 'unknown built-in config', err(/built-in/), ['train', '--config', 'esmmm', '--out', w('o12')]),
    // Bad data
    cli('data', 'a numeric value of 1e308', err(/item_price/), trainOn('big.csv', [withCell('item_price', '1e308'), withCell('item_price', '-1e308')])),
    cli('data', 'NaN in a numeric column', err(/row 51, column 'item_price'/), trainOn('nan.csv', [withCell('item_price', 'NaN')])),
    cli('data', 'buy without click', err(/row 51.*buy/), trainOn('bwc.csv', [withCells({ click: '0', cart: '0', buy: '1' })])),
    cli('data', 'a ragged CSV row', err(/row|line/), trainOn('ragged.csv', ['u1,i1'])),
    cli('data', 'an empty training file', err(/empty/), () => {
      dataFile('empty.csv', '');
      return ['train', '--config', cfg('empty.yaml', baseConfig({ data: 'train: data/empty.csv' })), '--out', w('o13')];
    }),
    cli('data', 'a missing column', err(/missing column/), () => {
      dataFile('nocol.csv', `${cols.filter((c) => c !== 'item_id').join(',')}\n`);
      return ['train', '--config', cfg('nocol.yaml', baseConfig({ data: 'train: data/nocol.csv' })), '--out', w('o14')];
    }),
    cli('data', 'a JSONL object in a categorical column', err(/row 3, column 'item_id'.*JSON object/), () => {
      dataFile('obj.jsonl', jsonl([goodObj, goodObj, { ...goodObj, item_id: { id: 1 } }]));
      return ['train', '--config', cfg('obj.yaml', baseConfig({ data: 'train: data/obj.jsonl' })), '--out', w('o15')];
    }),
    cli('data', 'a JSONL array in a categorical column', err(/column 'user_id'/), () => {
      dataFile('arr.jsonl', jsonl([{ ...goodObj, user_id: ['u1', 'u2'] }]));
      return ['train', '--config', cfg('arr.yaml', baseConfig({ data: 'train: data/arr.jsonl' })), '--out', w('o16')];
    }),
    cli('data', 'a Parquet LIST in a categorical column', err(/column 'item_id'.*nested/), ['train', '--config', cfg('list.yaml', baseConfig({ data: 'train: data/list.parquet' })), '--out', w('o17')]),
    // Flags and commands
    cli('flags', 'train --epochs many', err(/--epochs expects/), ['train', '--config', w('good.yaml'), '--epochs', 'many']),
    cli('flags', 'synth --rows x', err(/^esmm synth: error: --rows expects an integer/), ['synth', '--out', w('s'), '--rows', 'x']),
    cli('flags', 'an unknown command', err(/unknown command/), ['fly']),
    cli('flags', 'serve --port 99999', err(/--port/), ['serve', '--model', model, '--port', '99999']),
    cli('flags', 'serve on a port in use', err(/already in use/), ['serve', '--model', model, '--port', String(usedPort)]),
    cli('flags', 'serve --host 192.0.2.1 without a token', err(/--token-file/), ['serve', '--model', model, '--port', '0', '--host', '192.0.2.1']),
    cli('flags', 'serve --host 192.0.2.1 (not on this host)', err(/not an address of this machine/), ['serve', '--model', model, '--port', '0', '--host', '192.0.2.1', '--token-file', tokenFile]),
    cli('flags', 'serve --host with a malformed name', err(/not an IP address or a valid host name/), ['serve', '--model', model, '--port', '0', '--host', 'no..such..host']),
    // Things that must work
    cli('accepted', 'predict on good data', OK, ['predict', '--model', model, '--data', testCsv, '--out', w('good-pred.csv')], () =>
      readFileSync(w('good-pred.csv'), 'utf8').trim().split('\n').length === testBefore.trim().split('\n').length || 'row count differs'),
    cli('accepted', 'eval | head (stdout closed early)', OK, ['eval', '--model', model, '--data', testCsv], (r) => (r as Run).stderr === '' || 'wrote to stderr', { closeStdout: true }),
    cli('accepted', 'help | head (stdout closed early)', OK, ['help'], (r) => (r as Run).stderr === '' || 'wrote to stderr', { closeStdout: true }),
  ];

  // The server, with a short request timeout so the 408 case is quick.
  log(`running ${cases.length} CLI cases`);
  const server = await ServeProcess.start(['--model', model, '--max-body', '20000000', '--request-timeout', '3', '--shutdown-timeout', '2']);
  const info = JSON.parse((await request(`${server.url}/model`, 'GET')).text) as { schema: { numeric?: string[] } };
  const numeric = new Set(info.schema.numeric ?? []);
  const testLines = testBefore.trim().split('\n').slice(1);
  const rowObj = (line: string): Record<string, string | number> =>
    Object.fromEntries(cols.map((c, i) => [c, numeric.has(c) ? Number(line.split(',')[i]) : line.split(',')[i]!]));
  const rows5000 = Array.from({ length: 5000 }, (_, i) => rowObj(testLines[i % testLines.length]!));
  const body1 = JSON.stringify({ rows: rows5000.slice(0, 2) });
  const http_ = (name: string, status: number, run: () => Promise<HttpResult>, check?: Case['check']): Case => ({
    group: 'server',
    name,
    expect: { kind: 'http', status },
    run,
    ...(check !== undefined ? { check } : {}),
  });
  cases.push(
    http_('POST with a JSON content type', 200, () => request(`${server.url}/predict`, 'POST', body1, JSON_TYPE)),
    http_('POST text/plain (browser simple request)', 415, () => request(`${server.url}/predict`, 'POST', body1, { 'Content-Type': 'text/plain' })),
    http_('POST without a content type', 415, () => request(`${server.url}/predict`, 'POST', body1)),
    http_('invalid JSON', 400, () => request(`${server.url}/predict`, 'POST', '{"rows": [', JSON_TYPE)),
    http_('an object as a cell', 400, () => request(`${server.url}/predict`, 'POST', JSON.stringify({ rows: [{ ...rows5000[0], item_id: { a: 1 } }] }), JSON_TYPE)),
    http_('a body over --max-body', 413, () => request(`${server.url}/predict`, 'POST', Buffer.alloc(21_000_000, 32), JSON_TYPE)),
    http_('one request over --max-inflight-rows', 413, () => request(`${server.url}/predict`, 'POST', JSON.stringify({ rows: Array.from({ length: 60_000 }, () => rows5000[0]) }), JSON_TYPE)),
    http_('GET /predict', 405, () => request(`${server.url}/predict`, 'GET')),
    http_('unknown path', 404, () => request(`${server.url}/admin`, 'GET')),
    http_('/model reveals no absolute path', 200, () => request(`${server.url}/model`, 'GET'), (r) => !(r as HttpResult).text.includes(work) || 'absolute path in /model'),
    http_('unseen values are reported per row', 200, () => request(`${server.url}/predict`, 'POST', JSON.stringify({ rows: [{ ...rows5000[0], user_id: 'never-seen-user' }] }), JSON_TYPE),
      (r) => (JSON.parse((r as HttpResult).text) as { unseen?: string[][] }).unseen?.[0]?.includes('user_id') === true || 'no unseen list'),
    {
      group: 'server', name: 'malformed HTTP', expect: { kind: 'http', status: 400 },
      run: async () => {
        const reply = await rawExchange(server.port, 'GARBAGE \x00\x01 NOT HTTP\r\n\r\n');
        return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(reply)?.[1] ?? -1), text: reply, headers: {} };
      },
    },
    {
      group: 'server', name: 'a request that stalls mid-body (timeout)', expect: { kind: 'http', status: 408 },
      run: async () => {
        const s = await stalledPost(server.port);
        const reply = await new Promise<string>((done) => {
          let text = '';
          s.on('data', (d: Buffer) => (text += d.toString()));
          s.on('close', () => done(text));
        });
        return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(reply)?.[1] ?? -1), text: reply, headers: {} };
      },
    },
    {
      group: 'server', name: '50 clients hang up mid-body (no internal errors logged)', expect: { kind: 'http', status: 200 },
      run: async () => {
        const before = server.stderr.length;
        const sockets = await Promise.all(Array.from({ length: 50 }, () => stalledPost(server.port)));
        await new Promise((r) => setTimeout(r, 200));
        for (const s of sockets) s.destroy();
        await new Promise((r) => setTimeout(r, 500));
        const h = await request(`${server.url}/healthz`, 'GET');
        return { ...h, text: server.stderr.slice(before) };
      },
      check: (r) => !/internal error/.test((r as HttpResult).text) || 'logged an internal error',
    },
  );

  let clear = 0;
  let accepted = 0;
  let stackTraces = 0;
  const defects: string[] = [];
  for (const c of cases) {
    const r = await c.run();
    let extra: boolean | string;
    try {
      extra = c.check?.(r) ?? true;
    } catch (e) {
      extra = `check failed: ${(e as Error).message.split('\n')[0]}`;
    }
    let verdict: string | true;
    if ('code' in r) {
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      const hasStack = STACK.test(r.stderr);
      if (hasStack) stackTraces++;
      if (r.timedOut) verdict = `hung (killed after ${r.seconds.toFixed(0)} s)`;
      else if (c.expect.kind === 'error') {
        // Progress lines may come first; the error is one line, the last one.
        const errorLines = lines.filter((l) => /\berror\b/i.test(l));
        const line = lines[lines.length - 1] ?? '';
        if (r.code === 0) verdict = 'exit 0 (accepted)';
        else if (hasStack) verdict = 'stack trace';
        else if (errorLines.length !== 1 || errorLines[0] !== line) verdict = `${errorLines.length} error lines on stderr: ${line.slice(0, 120)}`;
        else if (!/^esmm( [a-z]+)?: error: /.test(line) || /: error: esmm /.test(line)) verdict = `not the error style: ${line.slice(0, 100)}`;
        else if (c.expect.match !== undefined && !c.expect.match.test(line)) verdict = `unclear: ${line.slice(0, 140)}`;
        else verdict = true;
      } else {
        verdict = r.code === 0 && !hasStack ? true : `exit ${r.code}: ${lines[0]?.slice(0, 120) ?? ''}`;
      }
    } else {
      verdict = r.status === (c.expect as { status: number }).status ? true : `HTTP ${r.status}, expected ${(c.expect as { status: number }).status}`;
    }
    if (verdict === true && extra !== true) verdict = extra === false ? 'check failed' : extra;
    if (verdict === true) {
      if (c.expect.kind === 'error') clear++;
      else accepted++;
    } else {
      defects.push(`[${c.group}] ${c.name}: ${verdict}`);
    }
  }

  // The first server (3 s request timeout, for the 408 case) stops; the load runs against one
  // with the default limits and timeouts (only --max-body raised: 5000 rows are about 1 MB).
  server.child.kill('SIGTERM');
  await server.exited;
  if (STACK.test(server.stderr)) {
    stackTraces++;
    defects.push('[server] a stack trace in the server log');
  }
  const loaded = await ServeProcess.start(['--model', model, '--max-body', '20000000', '--shutdown-timeout', '2']);

  // Load: 200 concurrent requests of 5000 rows each.
  log('load: 200 concurrent requests x 5000 rows');
  const before = loaded.memory();
  const loadBody = JSON.stringify({ rows: rows5000 });
  const agent = new http.Agent({ keepAlive: false, maxSockets: 200 });
  const t0 = performance.now();
  const replies = await Promise.all(Array.from({ length: 200 }, () => request(`${loaded.url}/predict`, 'POST', loadBody, JSON_TYPE, agent)));
  const loadSeconds = (performance.now() - t0) / 1000;
  const after = loaded.memory();
  const statuses: Record<string, number> = {};
  for (const r of replies) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const retryAfter = replies.filter((r) => r.status === 503).every((r) => r.headers['retry-after'] !== undefined);
  const loadOk = replies.every((r) => r.status === 200 || r.status === 503) && retryAfter && (statuses['200'] ?? 0) > 0;
  if (loadOk) accepted++;
  else defects.push(`[server] 200 x 5000 rows: statuses ${JSON.stringify(statuses)}, Retry-After on every 503: ${retryAfter}`);

  // SIGTERM with a slow client attached: the server must exit within its 2 s deadline (+ slack).
  const slow = await stalledPost(loaded.port);
  await new Promise((r) => setTimeout(r, 200)); // the server has read the headers: a request in flight
  const tStop = performance.now();
  loaded.child.kill('SIGTERM');
  const exit = await Promise.race([loaded.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000))]);
  const stopSeconds = (performance.now() - tStop) / 1000;
  slow.destroy();
  if (exit !== undefined && exit.code === 0 && stopSeconds < 10) accepted++;
  else {
    defects.push(`[server] SIGTERM with a slow client: ${exit === undefined ? 'still running after 20 s' : `exit ${exit.code} after ${stopSeconds.toFixed(1)} s`}`);
    loaded.child.kill('SIGKILL');
  }
  if (STACK.test(loaded.stderr)) {
    stackTraces++;
    defects.push('[server] a stack trace in the server log');
  }
  busyPort.close();
  rmSync(work, { recursive: true, force: true });

  const total = cases.length + 2;
  console.log(`cases                 ${total}`);
  console.log(`clear errors          ${clear}`);
  console.log(`accepted correctly    ${accepted}`);
  console.log(`defects               ${defects.length}`);
  console.log(`stack traces          ${stackTraces}`);
  console.log(`server RSS            ${(before.rssKb / 1024).toFixed(0)} MB before load, peak ${(after.peakKb / 1024).toFixed(0)} MB (VmHWM) under 200 concurrent x 5000 rows`);
  console.log(`load replies          ${JSON.stringify(statuses)} in ${loadSeconds.toFixed(1)} s`);
  console.log(`SIGTERM, slow client  exit ${exit?.code ?? 'none'} after ${stopSeconds.toFixed(1)} s`);
  for (const d of defects) console.log(`defect: ${d}`);
  console.log(JSON.stringify({ bench: 'abuse', cases: total, clear_errors: clear, accepted_correctly: accepted, defects: defects.length, stack_traces: stackTraces, rss_before_mb: +(before.rssKb / 1024).toFixed(1), rss_peak_mb: +(after.peakKb / 1024).toFixed(1), load_statuses: statuses, load_seconds: +loadSeconds.toFixed(1), node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((v) => +v.toFixed(2)) }));
}

await main();
