/**
 * `esmm serve`: HTTP scoring on Node's http module.
 *   POST /predict  {"rows": [{column: value, ...}]} -> {"predictions": [{"pctr","pcvr","pctcvr"[,"paction"]}]}
 *   GET  /healthz  {"status": "ok", "model": NAME, "version": V}
 *   GET  /model    schema, version, features, metrics
 * Bad bodies get a 400 with a JSON {error, row?, column?}; bodies above maxBody a 413; unknown
 * paths 404, wrong methods 405. reload() (SIGHUP in the CLI) loads the model directory again and
 * swaps it in atomically; if loading fails, the old model keeps serving and the reason is logged.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isUserError, type UserError } from '../errors.js';
import { readBody } from './body.js';
import { LoadedModel } from './loaded-model.js';
import { parsePredictBody, type RequestError } from './request.js';

export interface ServerOptions {
  modelDir: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Largest accepted request body in bytes (default 1 MB). */
  maxBody?: number;
  /** ORT intra-op threads of the scorer (default 1). */
  threads?: number;
  log?: (line: string) => void;
}

export interface RunningServer {
  port: number;
  host: string;
  url: string;
  /** The model being served now. */
  readonly current: LoadedModel;
  /** Load `dir` (default: the model directory) and swap it in; false (old model kept) when loading failed. */
  reload(dir?: string): Promise<boolean>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY = 1_000_000;

const ROUTES: Record<string, string> = { '/predict': 'POST', '/healthz': 'GET', '/model': 'GET' };

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const maxBody = opts.maxBody ?? DEFAULT_MAX_BODY;
  let modelDir = opts.modelDir;
  let current = await LoadedModel.load(modelDir, opts.threads);
  let reloading: Promise<boolean> | undefined;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    const method = ROUTES[path];
    if (method === undefined) return send(res, 404, { error: `no such endpoint ${path}; try POST /predict, GET /healthz, GET /model` });
    if (req.method !== method && !(method === 'GET' && req.method === 'HEAD')) {
      res.setHeader('Allow', method === 'GET' ? 'GET, HEAD' : method);
      req.resume();
      return send(res, 405, { error: `${req.method} is not allowed on ${path}; use ${method}` });
    }
    const model = current;
    if (path === '/healthz') return send(res, 200, { status: 'ok', model: model.info.model, version: model.info.version });
    if (path === '/model') return send(res, 200, model.info);

    const body = await readBody(req, maxBody);
    if (!body.ok) {
      res.setHeader('Connection', 'close');
      return send(res, 413, { error: `request body of ${body.bytes} bytes exceeds the limit of ${maxBody} bytes (--max-body); send fewer rows per request` });
    }
    const parsed = parsePredictBody(body.text);
    if (!parsed.ok) return send(res, 400, parsed.error);
    await model.use(async (m) => {
      try {
        const predictions = await m.scorer.predict(parsed.rows);
        send(res, 200, { predictions });
      } catch (e) {
        if (!isUserError(e)) throw e;
        send(res, 400, requestError(e));
      }
    });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`esmm serve: internal error on ${req.method} ${req.url}: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error (see the server log)' });
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n{"error":"malformed HTTP request"}');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';

  const doReload = async (dir: string): Promise<boolean> => {
    let next: LoadedModel;
    try {
      next = await LoadedModel.load(dir, opts.threads);
    } catch (e) {
      log(`esmm serve: reload of ${dir} failed, still serving ${current.info.model} ${current.info.version}: ${(e as Error).message}`);
      return false;
    }
    const old = current;
    current = next;
    modelDir = dir;
    log(`esmm serve: reloaded ${dir}: ${next.info.model} ${next.info.version} (was ${old.info.version})`);
    await old.retire();
    return true;
  };

  return {
    port: addr.port,
    host,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`,
    get current() {
      return current;
    },
    reload(dir?: string): Promise<boolean> {
      // Reloads run one at a time; a reload requested during another waits for it.
      const run = (reloading ?? Promise.resolve(true)).then(() => doReload(dir ?? modelDir));
      reloading = run;
      return run;
    },
    async close(): Promise<void> {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await current.retire();
    },
  };
}

/** A scoring UserError (1-based row in its location) as {error: "rows[i].column: ...", row: i, column}. */
function requestError(e: UserError): RequestError {
  const loc = e.location;
  const prefix = [loc.file, loc.row !== undefined ? `row ${loc.row}` : undefined, loc.column !== undefined ? `column '${loc.column}'` : undefined, loc.key !== undefined ? `key '${loc.key}'` : undefined]
    .filter((p) => p !== undefined)
    .join(', ');
  const bare = prefix !== '' && e.message.startsWith(`${prefix}: `) ? e.message.slice(prefix.length + 2) : e.message;
  const row = loc.row !== undefined ? loc.row - 1 : undefined;
  const where = row !== undefined ? `rows[${row}]${loc.column !== undefined ? `.${loc.column}` : ''}: ` : loc.column !== undefined ? `${loc.column}: ` : '';
  return { error: `${where}${bare}`, ...(row !== undefined ? { row } : {}), ...(loc.column !== undefined ? { column: loc.column } : {}) };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
