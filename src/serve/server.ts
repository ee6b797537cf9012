/**
 * `esmm serve`: HTTP scoring on Node's http module.
 *   POST /predict  {"rows": [{column: value, ...}]} -> {"predictions": [{"pctr","pcvr","pctcvr"[,"paction"]}]}
 *   GET  /healthz  {"status": "ok", "model": NAME, "version": V}
 *   GET  /model    schema, version, features, metrics
 * Bad bodies get a 400 with a JSON {error, row?, column?}; bodies above maxBody a 413; unknown
 * paths 404, wrong methods 405, a POST that is not `Content-Type: application/json` a 415 (a
 * browser "simple request" from any web page cannot send that type without a CORS preflight).
 * Work in flight is bounded (requests and rows): past the limit a 503 with Retry-After. A request
 * not received within requestTimeout is a 408. With a token, every endpoint but /healthz needs
 * `Authorization: Bearer TOKEN` (401); listening beyond loopback without a token is refused.
 * close() stops accepting, lets requests in flight finish, and destroys whatever connection is
 * still open after shutdownTimeout (a slow client cannot hold the process).
 * reload() (SIGHUP in the CLI) loads the model directory again and swaps it in atomically; if
 * loading fails, the old model keeps serving and the reason is logged.
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { isUserError, UserError } from '../errors.js';
import { ClientGoneError, readBody } from './body.js';
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
  /** Most POST /predict requests handled at once (default 32); more get a 503 with Retry-After. */
  maxInflightRequests?: number;
  /** Most rows being scored at once across requests (default 50,000); more get a 503. */
  maxInflightRows?: number;
  /** A request must be fully received within this many ms (default 30,000), else 408. */
  requestTimeoutMs?: number;
  /** close() destroys connections still open after this many ms (default 10,000). */
  shutdownTimeoutMs?: number;
  /** Bearer token required on /predict and /model; required when host is not loopback. */
  token?: string;
  log?: (line: string) => void;
}

export interface RunningServer {
  port: number;
  host: string;
  url: string;
  /** The model being served now. */
  readonly current: LoadedModel;
  /** Requests and rows being handled right now (POST /predict). */
  inflight(): { requests: number; rows: number };
  /** Load `dir` (default: the model directory) and swap it in; false (old model kept) when loading failed. */
  reload(dir?: string): Promise<boolean>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY = 1_000_000;
export const DEFAULT_MAX_INFLIGHT_REQUESTS = 32;
export const DEFAULT_MAX_INFLIGHT_ROWS = 50_000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
const RETRY_AFTER_S = 1;

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and the name localhost: reachable only from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}

/** An IP address, or a host name by RFC 1123's rules (checked here, so a garbled name never reaches DNS). */
function checkHost(host: string): void {
  if (net.isIP(host.replace(/^\[|\]$/g, '')) !== 0) return;
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253 || !name.split('.').every((l) => label.test(l))) {
    throw new UserError(`--host '${host}' is not an IP address or a valid host name`);
  }
}

function listenError(e: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (e.code) {
    case 'EADDRINUSE':
      return new UserError(`port ${port} on ${host} is already in use (another server?); choose another --port`);
    case 'EADDRNOTAVAIL':
      return new UserError(`--host ${host} is not an address of this machine; use 127.0.0.1 or one of this machine's addresses`);
    case 'EACCES':
      return new UserError(`permission denied listening on ${host}:${port} (ports below 1024 need privileges); choose another --port`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new UserError(`--host ${host}: unknown host name`);
    default:
      return e;
  }
}

const ROUTES: Record<string, string> = { '/predict': 'POST', '/healthz': 'GET', '/model': 'GET' };

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const maxBody = opts.maxBody ?? DEFAULT_MAX_BODY;
  const maxRequests = opts.maxInflightRequests ?? DEFAULT_MAX_INFLIGHT_REQUESTS;
  const maxRows = opts.maxInflightRows ?? DEFAULT_MAX_INFLIGHT_ROWS;
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const shutdownTimeout = opts.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  checkHost(host);
  if (opts.token !== undefined && opts.token.length === 0) throw new UserError('the bearer token is empty (--token-file)');
  if (!isLoopback(host) && opts.token === undefined) {
    throw new UserError(`--host ${host} is reachable from other machines: give --token-file FILE (a secret clients send as 'Authorization: Bearer ...'), or use --host 127.0.0.1`);
  }
  const token = opts.token === undefined ? undefined : Buffer.from(opts.token, 'utf8');
  let modelDir = opts.modelDir;
  let current = await LoadedModel.load(modelDir, opts.threads);
  let reloading: Promise<boolean> | undefined;
  let inflightRequests = 0;
  let inflightRows = 0;

  const authorized = (req: http.IncomingMessage): boolean => {
    if (token === undefined) return true;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (m === null) return false;
    const given = Buffer.from(m[1]!, 'utf8');
    return given.length === token.length && timingSafeEqual(given, token);
  };

  const busy = (req: http.IncomingMessage, res: http.ServerResponse, what: string): void => {
    // The body is drained, not kept (no memory), and the connection stays open: closing it while
    // the client is still uploading would reset it before the client reads the 503.
    req.resume();
    res.setHeader('Retry-After', String(RETRY_AFTER_S));
    send(res, 503, { error: `server busy: ${what}; retry after ${RETRY_AFTER_S} s` });
  };

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
    if (!authorized(req)) {
      req.resume();
      res.setHeader('WWW-Authenticate', 'Bearer realm="esmm"');
      return send(res, 401, { error: "missing or wrong token: send 'Authorization: Bearer TOKEN' (the token in the server's --token-file)" });
    }
    if (path === '/model') return send(res, 200, model.info);

    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      req.resume(); // drained, not closed: closing mid-upload resets the connection before the client reads the reply
      return send(res, 415, { error: `POST /predict needs 'Content-Type: application/json', got ${type === '' ? 'none' : `'${type}'`}` });
    }
    if (inflightRequests >= maxRequests) return busy(req, res, `${inflightRequests} requests in flight (--max-inflight-requests ${maxRequests})`);
    inflightRequests++;
    try {
      const body = await readBody(req, maxBody);
      if (!body.ok) {
        // The rest of the body is drained (readBody discards it), so the client reads the 413.
        return send(res, 413, { error: `request body of ${body.bytes} bytes exceeds the limit of ${maxBody} bytes (--max-body); send fewer rows per request` });
      }
      const parsed = parsePredictBody(body.text);
      if (!parsed.ok) return send(res, 400, parsed.error);
      const rows = parsed.rows.length;
      if (rows > maxRows) return send(res, 413, { error: `${rows} rows in one request exceed the limit of ${maxRows} rows in flight (--max-inflight-rows); send fewer rows per request` });
      if (inflightRows > 0 && inflightRows + rows > maxRows) return busy(req, res, `${inflightRows} rows in flight (--max-inflight-rows ${maxRows})`);
      inflightRows += rows;
      try {
        await model.use(async (m) => {
          try {
            const { predictions, unseen } = await m.scorer.predictWithUnseen(parsed.rows);
            send(res, 200, { predictions, unseen });
          } catch (e) {
            if (!isUserError(e)) throw e;
            send(res, 400, requestError(e));
          }
        });
      } finally {
        inflightRows -= rows;
      }
    } finally {
      inflightRequests--;
    }
  };

  const server = http.createServer({ connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeout / 4))) }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      // A client that hung up (or timed out) mid-request is not a server fault: nothing to log.
      if (e instanceof ClientGoneError || req.destroyed || res.destroyed) return;
      log(`esmm serve: internal error on ${req.method} ${req.url}: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error (see the server log)' });
      else res.destroy();
    });
  });
  server.requestTimeout = requestTimeout;
  server.headersTimeout = Math.min(10_000, requestTimeout);
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, error] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['408 Request Timeout', `request not received within ${requestTimeout / 1000} s`]
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? ['431 Request Header Fields Too Large', 'request headers too large']
        : ['400 Bad Request', 'malformed HTTP request'];
    const body = JSON.stringify({ error });
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => socket.destroy());
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await current.retire();
    throw listenError(e as NodeJS.ErrnoException, host, port);
  }
  const addr = server.address() as AddressInfo;

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
    inflight: () => ({ requests: inflightRequests, rows: inflightRows }),
    reload(dir?: string): Promise<boolean> {
      // Reloads run one at a time; a reload requested during another waits for it.
      const run = (reloading ?? Promise.resolve(true)).then(() => doReload(dir ?? modelDir));
      reloading = run;
      return run;
    },
    async close(): Promise<void> {
      await new Promise<void>((resolve) => {
        // Requests in flight may finish; past the deadline every connection still open is cut.
        const deadline = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, shutdownTimeout);
        server.close(() => {
          clearTimeout(deadline);
          resolve();
        });
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
  if (res.destroyed || res.writableEnded || res.socket?.destroyed === true) return; // the client is gone or a 408 was already sent
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
