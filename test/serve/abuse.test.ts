/**
 * `esmm serve` under abuse: bounded work in flight (503 + Retry-After), a timed-out request is a
 * 408, a slow client cannot hold shutdown, a client that hangs up is not an internal error,
 * POST needs a JSON content type, optional bearer token (required beyond loopback), /model hides
 * absolute paths, replies name unseen categorical values, and listen failures are one line.
 * Only 127.0.0.1 is contacted; 192.0.2.1 (TEST-NET-1) is only ever passed to bind(), which sends
 * no traffic, and the "unknown host" case is a name that is refused before any DNS lookup.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { trainTiny } from '../export/fixture.js';
import { runCli, tempDir } from '../cli/helpers.js';

interface Reply {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

function request(url: string, method: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(parts).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const JSON_TYPE = { 'Content-Type': 'application/json' };
const row = { user_id: 'u1', item_id: 'i1', item_category: 'c1', user_segment: 's1', position: '1', recent_categories: 'c1|c2', item_price: 10, user_activity: 0.5 };

/** A client that sends the headers of a POST and part of its body, then stalls. */
function stalledPost(port: number, headers = 'Content-Type: application/json\r\n'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Content-Length: 1000\r\n\r\n{"rows": [`);
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

function readAll(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => resolve(text));
  });
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

describe('esmm serve under abuse', () => {
  let modelDir: string;
  let server: RunningServer;
  const logs: string[] = [];

  beforeAll(async () => {
    modelDir = (await trainTiny('esmm')).dir;
    server = await startServer({ modelDir, port: 0, maxInflightRequests: 1, maxInflightRows: 1000, requestTimeoutMs: 1500, log: (l) => logs.push(l) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('POST without Content-Type: application/json is a 415', async () => {
    const body = JSON.stringify({ rows: [row] });
    expect((await request(`${server.url}/predict`, 'POST', body, { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await request(`${server.url}/predict`, 'POST', body, { 'Content-Type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await request(`${server.url}/predict`, 'POST', body, { 'Content-Type': 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it('replies name the unseen categorical values of each row', async () => {
    // A row of values the model saw in training (from its vocabularies), and the same with two new ids.
    const seen: Record<string, unknown> = { ...row };
    for (const f of server.current.model.features.toJSON().categorical) if (f.encoding === 'vocabulary') seen[f.name] = f.values[0];
    const r = await request(`${server.url}/predict`, 'POST', JSON.stringify({ rows: [seen, { ...seen, user_id: 'never-seen', item_id: 'nor-this' }] }), JSON_TYPE);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as { unseen: string[][] };
    expect(body.unseen[0]).toEqual([]);
    expect(body.unseen[1]!.sort()).toEqual(['item_id', 'user_id']);
  });

  it('/model does not reveal absolute paths', async () => {
    const r = await request(`${server.url}/model`, 'GET');
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(modelDir);
    expect(r.text).not.toMatch(/"\/(tmp|home|work|usr|var)\//);
  });

  it('past the limit of requests in flight: 503 with Retry-After; one request over the row limit: 413', async () => {
    const stalled = await stalledPost(server.port);
    await until(() => server.inflight().requests === 1);
    const r = await request(`${server.url}/predict`, 'POST', JSON.stringify({ rows: [row] }), JSON_TYPE);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    stalled.destroy();
    await until(() => server.inflight().requests === 0);
    const big = await request(`${server.url}/predict`, 'POST', JSON.stringify({ rows: Array.from({ length: 1001 }, () => row) }), JSON_TYPE);
    expect(big.status).toBe(413);
    expect(big.text).toMatch(/max-inflight-rows/);
  });

  it('a client that hangs up mid-body is not an internal error', async () => {
    const before = logs.length;
    const s = await stalledPost(server.port);
    await until(() => server.inflight().requests === 1);
    s.destroy();
    await until(() => server.inflight().requests === 0);
    expect(logs.slice(before).filter((l) => /internal error/.test(l))).toEqual([]);
  });

  it('a request not received in time is a 408, not "malformed"', async () => {
    const s = await stalledPost(server.port);
    const reply = await readAll(s);
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(reply).not.toMatch(/malformed/);
    await until(() => server.inflight().requests === 0);
  });
});

describe('shutdown and start-up', () => {
  let modelDir: string;
  beforeAll(async () => {
    modelDir = (await trainTiny('esmm')).dir;
  });

  it('close() finishes within its deadline with a slow client attached', async () => {
    const server = await startServer({ modelDir, port: 0, requestTimeoutMs: 600_000, shutdownTimeoutMs: 200, log: () => {} });
    const slow = await stalledPost(server.port);
    const gone = readAll(slow);
    await until(() => server.inflight().requests === 1);
    await server.close();
    await gone; // the server cut the connection
  });

  it('esmm serve exits on SIGTERM with a slow client attached (a real process, a real signal)', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'esmm.js');
    const child = spawn(process.execPath, [bin, 'serve', '--model', modelDir, '--port', '0', '--shutdown-timeout', '0.3'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await until(() => /on http:\/\/127\.0\.0\.1:\d+/.test(stderr));
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    const slow = await stalledPost(port);
    await new Promise((r) => setTimeout(r, 100)); // let the server read the headers
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    slow.destroy();
    expect(stderr).not.toMatch(/\n\s+at /);
  }, 20_000);

  it('the bearer token guards /predict and /model, not /healthz', async () => {
    const token = 'x'.repeat(24);
    const server = await startServer({ modelDir, port: 0, token, log: () => {} });
    try {
      const body = JSON.stringify({ rows: [row] });
      expect((await request(`${server.url}/predict`, 'POST', body, JSON_TYPE)).status).toBe(401);
      expect((await request(`${server.url}/predict`, 'POST', body, { ...JSON_TYPE, Authorization: `Bearer ${'y'.repeat(24)}` })).status).toBe(401);
      expect((await request(`${server.url}/model`, 'GET')).status).toBe(401);
      expect((await request(`${server.url}/predict`, 'POST', body, { ...JSON_TYPE, Authorization: `Bearer ${token}` })).status).toBe(200);
      expect((await request(`${server.url}/healthz`, 'GET')).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('serve: port in use, non-loopback without a token, an address not on this host, a garbled host: one line each', async () => {
    const dir = tempDir('esmm-serve-abuse-');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${'t'.repeat(32)}\n`);
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    const cases: [string[], RegExp][] = [
      [['--port', String(port)], new RegExp(`port ${port} .*already in use`)],
      [['--host', '192.0.2.1', '--port', '0'], /reachable from other machines: give --token-file/],
      [['--host', '192.0.2.1', '--port', '0', '--token-file', tokenFile], /192\.0\.2\.1 is not an address of this machine/],
      [['--host', 'no..such..host', '--port', '0'], /not an IP address or a valid host name/],
      [['--token-file', dir, '--port', '0'], /is a directory/],
    ];
    try {
      for (const [args, pattern] of cases) {
        const r = await runCli(['serve', '--model', modelDir, ...args]);
        expect(r.code, args.join(' ')).toBe(2);
        const lines = r.stderr.trim().split('\n');
        expect(lines, args.join(' ')).toHaveLength(1);
        expect(lines[0]).toMatch(/^esmm serve: error: /);
        expect(lines[0]).toMatch(pattern);
      }
    } finally {
      busy.close();
    }
  });
});
