import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { trainTiny } from '../export/fixture.js';

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

function request(url: string, method: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const withType = method === 'POST' && headers['Content-Type'] === undefined ? { 'Content-Type': 'application/json', ...headers } : headers;
    const req = http.request(url, { method, headers: withType }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode!, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: res.headers });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const row = { user_id: 'u1', item_id: 'i1', item_category: 'c1', user_segment: 's1', position: '1', recent_categories: 'c1|c2', item_price: 10, user_activity: 0.5 };

describe('esmm serve', () => {
  let server: RunningServer;
  let modelDir: string;
  let otherDir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    modelDir = (await trainTiny('esmm')).dir;
    otherDir = (await trainTiny('esm2')).dir;
    server = await startServer({ modelDir, port: 0, maxBody: 20_000, log: (l) => logs.push(l) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('scores rows, with all three probabilities consistent', async () => {
    const r = await request(`${server.url}/predict`, 'POST', JSON.stringify({ rows: [row, { ...row, user_id: 'never-seen', recent_categories: '' }] }));
    expect(r.status).toBe(200);
    const preds = r.body.predictions as { pctr: number; pcvr: number; pctcvr: number }[];
    expect(preds).toHaveLength(2);
    for (const p of preds) {
      expect(p.pctr).toBeGreaterThan(0);
      expect(p.pctcvr).toBeCloseTo(p.pctr * p.pcvr, 6);
    }
    const same = await server.current.model.predict([row]);
    expect(preds[0]!.pctr).toBeCloseTo(same[0]!.pctr, 6);
    const empty = await request(`${server.url}/predict`, 'POST', '{"rows": []}');
    expect(empty.body).toEqual({ predictions: [], unseen: [] });
  });

  it('answers /healthz and /model', async () => {
    const h = await request(`${server.url}/healthz`, 'GET');
    expect(h.status).toBe(200);
    expect(h.body.status).toBe('ok');
    const m = await request(`${server.url}/model`, 'GET');
    expect(m.body.model).toBe('esmm');
    expect(m.body.outputs).toEqual(['pctr', 'pcvr', 'pctcvr']);
    expect(typeof m.body.version).toBe('string');
    expect((m.body.schema as { categorical: string[] }).categorical).toContain('user_id');
    expect(m.body.metrics).toBeDefined();
  });

  it('gives clear 400s naming row and column', async () => {
    const cases: [string, RegExp, number | undefined, string | undefined][] = [
      ['{"rows": [', /not valid JSON/, undefined, undefined],
      ['[1, 2]', /JSON object/, undefined, undefined],
      ['{"row": []}', /"rows" array/, undefined, undefined],
      [JSON.stringify({ rows: [row, 7] }), /rows\[1\] must be an object/, 1, undefined],
      [JSON.stringify({ rows: [row, null] }), /rows\[1\]/, 1, undefined],
      [JSON.stringify({ rows: [row, { ...row, item_price: 'cheap' }] }), /^rows\[1\]\.item_price: not a finite number/, 1, 'item_price'],
      [JSON.stringify({ rows: [{ ...row, item_id: { a: 1 } }] }), /rows\[0\]\.item_id/, 0, 'item_id'],
      [JSON.stringify({ rows: [{ user_id: 'u' }] }), /^rows\[0\]\.item_id: missing field/, 0, 'item_id'],
      [JSON.stringify({ rows: [{ ...row, click: 7 }] }), /label must be 0 or 1/, 0, 'click'],
    ];
    for (const [body, message, rowIndex, column] of cases) {
      const r = await request(`${server.url}/predict`, 'POST', body);
      expect(r.status, body).toBe(400);
      expect(r.body.error, body).toMatch(message);
      expect(r.body.row, body).toBe(rowIndex);
      expect(r.body.column, body).toBe(column);
    }
    const garbage = await request(`${server.url}/predict`, 'POST', Buffer.from([0xff, 0xfe, 0x00, 0x01]));
    expect(garbage.status).toBe(400);
  });

  it('refuses oversized bodies with 413, declared or streamed', async () => {
    const big = JSON.stringify({ rows: Array.from({ length: 400 }, () => row) });
    expect(big.length).toBeGreaterThan(20_000);
    const r = await request(`${server.url}/predict`, 'POST', big);
    expect(r.status).toBe(413);
    expect(r.body.error).toMatch(/exceeds the limit of 20000 bytes/);
    const chunked = await request(`${server.url}/predict`, 'POST', big, { 'Transfer-Encoding': 'chunked' });
    expect(chunked.status).toBe(413);
    const ok = await request(`${server.url}/healthz`, 'GET');
    expect(ok.status).toBe(200);
  });

  it('survives malformed HTTP and deeply nested JSON', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, '127.0.0.1', () => socket.write('GARBAGE \x00\x01 NOT HTTP\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    const deep = await request(`${server.url}/predict`, 'POST', `{"rows": ${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect(deep.status).toBe(400);
    expect((await request(`${server.url}/healthz`, 'GET')).status).toBe(200);
  });

  it('answers 404 and 405', async () => {
    expect((await request(`${server.url}/nope`, 'GET')).status).toBe(404);
    const r = await request(`${server.url}/predict`, 'GET');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('POST');
    expect((await request(`${server.url}/model`, 'DELETE')).status).toBe(405);
  });

  it('serves concurrent requests, each getting its own rows back', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const single = async (i: number): Promise<void> => {
      const rows = [{ ...row, item_id: `i${i % 5}`, item_price: i }];
      const r = await new Promise<Reply>((resolve, reject) => {
        const req = http.request(`${server.url}/predict`, { method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(parts).toString()) as Record<string, unknown>, headers: res.headers }));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ rows }));
      });
      expect(r.status).toBe(200);
      const expected = await server.current.scorer.predict(rows);
      expect((r.body.predictions as { pctr: number }[])[0]!.pctr).toBe(expected[0]!.pctr);
    };
    await Promise.all(Array.from({ length: 64 }, (_, i) => single(i)));
    agent.destroy();
  });

  it('reloads atomically, keeping the old model when the new one fails to load', async () => {
    const before = (await request(`${server.url}/model`, 'GET')).body.version;
    // A broken model directory: the old model keeps serving and the log says why.
    const broken = join(mkdtempSync(join(tmpdir(), 'esmm-broken-')), 'model');
    cpSync(modelDir, broken, { recursive: true });
    writeFileSync(join(broken, 'params.bin'), 'garbage');
    expect(await server.reload(broken)).toBe(false);
    expect(logs.some((l) => /reload of .* failed, still serving esmm/.test(l) && /checksum/.test(l))).toBe(true);
    expect((await request(`${server.url}/model`, 'GET')).body.version).toBe(before);
    rmSync(broken, { recursive: true, force: true });

    // Requests racing a reload all succeed, answered by one model or the other.
    const racing = Array.from({ length: 20 }, () => request(`${server.url}/predict`, 'POST', JSON.stringify({ rows: [row] })));
    const swapped = server.reload(otherDir);
    const replies = await Promise.all(racing);
    expect(await swapped).toBe(true);
    for (const r of replies) expect(r.status).toBe(200);
    const m = await request(`${server.url}/model`, 'GET');
    expect(m.body.model).toBe('esm2');
    expect(m.body.version).not.toBe(before);
    const p = await request(`${server.url}/predict`, 'POST', JSON.stringify({ rows: [{ ...row, cart: 0 }] }));
    expect(Object.keys((p.body.predictions as object[])[0]!).sort()).toEqual(['paction', 'pctcvr', 'pctr', 'pcvr']);
  });
});
