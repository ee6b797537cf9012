import { readFileSync } from 'node:fs';
import { startServer, DEFAULT_MAX_BODY, DEFAULT_MAX_INFLIGHT_REQUESTS, DEFAULT_MAX_INFLIGHT_ROWS, DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../../serve/index.js';
import { UserError } from '../../errors.js';
import { checkInputFile } from '../../util/input-path.js';
import { intFlag, log, numberFlag, requireFlag } from '../args.js';
import { defineCommand, parseCommand } from '../flags.js';
import { MODEL_DIR_FLAG } from '../common-flags.js';

export const SERVE_SPEC = defineCommand({
  name: 'serve',
  summary: 'HTTP scoring: POST /predict, GET /healthz, GET /model; SIGHUP reloads',
  usage: ['serve --model DIR [--port P] [--host H] [--token-file F] [limits and timeouts]'],
  description: 'Serve a saved model over HTTP: POST /predict {"rows": [...]} returns pctr, pcvr and pctcvr per row; GET /healthz and GET /model describe it. kill -HUP reloads DIR; SIGTERM/SIGINT stop (connections still open after --shutdown-timeout are cut). Past the in-flight limits requests get 503 with Retry-After.',
  flags: {
    model: MODEL_DIR_FLAG,
    port: { type: 'string', value: 'P', default: '8080', help: 'TCP port (0 picks a free one)' },
    host: { type: 'string', value: 'H', default: '127.0.0.1', help: 'address to listen on' },
    'max-body': { type: 'string', value: 'BYTES', default: String(DEFAULT_MAX_BODY), help: 'largest request body accepted' },
    threads: { type: 'string', value: 'N', default: '1', help: 'intra-op threads of the scoring session' },
    'max-inflight-requests': { type: 'string', value: 'N', default: String(DEFAULT_MAX_INFLIGHT_REQUESTS), help: 'requests scored or queued at once; past it 503 with Retry-After' },
    'max-inflight-rows': { type: 'string', value: 'N', default: String(DEFAULT_MAX_INFLIGHT_ROWS), help: 'rows scored or queued at once; past it 503 (one request over it: 413)' },
    'token-file': { type: 'string', value: 'FILE', default: 'none (required off loopback)', help: 'require Authorization: Bearer <token read from FILE> on /predict and /model' },
    'shutdown-timeout': { type: 'string', value: 'S', default: String(DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000), help: 'seconds to let requests finish on SIGTERM before cutting connections' },
    'request-timeout': { type: 'string', value: 'S', default: '30', help: 'seconds to receive a request before answering 408' },
  },
  examples: ['serve --model runs/esmm --port 8080'],
});

/** esmm serve: see SERVE_SPEC. */
export async function serveCommand(argv: string[]): Promise<number> {
  const values = parseCommand(SERVE_SPEC, argv)?.values;
  if (values === undefined) return 0;
  const modelDir = requireFlag('serve', values.model, 'model');
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port expects 0..65535, got '${values.port}'`);
  const threads = intFlag('serve', values.threads, 'threads');
  const shutdownS = numberFlag('serve', values['shutdown-timeout'], 'shutdown-timeout');
  if (shutdownS !== undefined && shutdownS < 0) throw new UserError(`--shutdown-timeout expects seconds >= 0, got '${values['shutdown-timeout']}'`);
  const requestS = numberFlag('serve', values['request-timeout'], 'request-timeout');
  if (requestS !== undefined && requestS <= 0) throw new UserError(`--request-timeout expects seconds > 0, got '${values['request-timeout']}'`);
  const token = values['token-file'] === undefined ? undefined : readToken(values['token-file']);
  const server = await startServer({
    modelDir,
    port,
    host: values.host ?? '127.0.0.1',
    maxBody: intFlag('serve', values['max-body'], 'max-body') ?? DEFAULT_MAX_BODY,
    maxInflightRequests: intFlag('serve', values['max-inflight-requests'], 'max-inflight-requests') ?? DEFAULT_MAX_INFLIGHT_REQUESTS,
    maxInflightRows: intFlag('serve', values['max-inflight-rows'], 'max-inflight-rows') ?? DEFAULT_MAX_INFLIGHT_ROWS,
    shutdownTimeoutMs: shutdownS === undefined ? DEFAULT_SHUTDOWN_TIMEOUT_MS : Math.round(shutdownS * 1000),
    ...(requestS !== undefined ? { requestTimeoutMs: Math.round(requestS * 1000) } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(threads !== undefined ? { threads } : {}),
    log,
  });
  log(`serving ${server.current.info.model} (${server.current.info.version}) from ${modelDir} on ${server.url}${token !== undefined ? ' with a bearer token' : ''}  (POST /predict, GET /healthz, GET /model; kill -HUP ${process.pid} reloads)`);
  const onHup = (): void => void server.reload();
  process.on('SIGHUP', onHup);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.off('SIGHUP', onHup);
  log('shutting down');
  await server.close();
  return 0;
}

/** The token is the file's first line; the file keeps it out of `ps` and shell history. */
function readToken(file: string): string {
  checkInputFile(file, 'a file holding the bearer token', { key: '--token-file' });
  const token = (readFileSync(file, 'utf8').split('\n')[0] ?? '').trim();
  if (token.length < 16) throw new UserError(`${file} (--token-file): the token must be at least 16 characters on the first line`);
  if (/\s/.test(token)) throw new UserError(`${file} (--token-file): the token must not contain spaces`);
  return token;
}
