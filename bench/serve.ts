/**
 * Loopback load test of `esmm serve` with the paper-setting ESMM: the server runs in a child
 * process; this process sends N requests at a fixed concurrency over keep-alive connections,
 * for 1-row and 100-row requests, and prints requests/s and p50/p99 latency as one JSON line.
 * Run: npx tsc -p tsconfig.json && node dist/bench/serve.js [requests] [concurrency]
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveModel } from '../src/models/persist.js';
import { startServer } from '../src/serve/index.js';
import { paperModel, paperRows, quantile } from './paper-model.js';

if (process.argv[2] === '--server') {
  const server = await startServer({ modelDir: process.argv[3]!, port: 0, maxBody: 10_000_000, log: () => undefined });
  process.send!({ url: server.url });
  process.on('message', () => void server.close().then(() => process.exit(0)));
} else {
  const requests = Number(process.argv[2] ?? 2000);
  const concurrency = Number(process.argv[3] ?? 8);
  const tmp = mkdtempSync(join(os.tmpdir(), 'esmm-serve-bench-'));
  const dir = join(tmp, 'model');
  const model = await paperModel(1);
  await saveModel(model, dir);
  await model.release();
  const child = fork(fileURLToPath(import.meta.url), ['--server', dir]);
  const url = await new Promise<string>((resolve) => child.once('message', (m: { url: string }) => resolve(m.url)));
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const rows = paperRows(5000, 3);

  const post = (body: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const t = performance.now();
      const req = http.request(`${url}/predict`, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });

  const load = async (batch: number, n: number): Promise<Record<string, number>> => {
    const bodies = Array.from({ length: 50 }, (_, i) => JSON.stringify({ rows: rows.slice(i * 50, i * 50 + batch) }));
    for (let i = 0; i < 100; i++) await post(bodies[i % bodies.length]!); // warm-up
    const lat: number[] = [];
    let next = 0;
    const t0 = performance.now();
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        lat.push(await post(bodies[i % bodies.length]!));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    return { requests: n, requests_per_s: Math.round(n / seconds), rows_per_s: Math.round((n * batch) / seconds), p50_ms: +quantile(lat, 0.5).toFixed(3), p99_ms: +quantile(lat, 0.99).toFixed(3) };
  };

  const one = await load(1, requests);
  const hundred = await load(100, Math.max(200, Math.floor(requests / 4)));
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  agent.destroy();
  rmSync(tmp, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      bench: 'serve',
      model: 'esmm paper setting: 23 fields, dim 18, towers 360-200-80 (1 ORT thread)',
      concurrency,
      rows_1: one,
      rows_100: hundred,
      node: process.version,
      cpus: os.cpus().length,
      loadavg: os.loadavg().map((v) => +v.toFixed(2)),
    }),
  );
}
