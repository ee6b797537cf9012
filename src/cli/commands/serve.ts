import { startServer, DEFAULT_MAX_BODY } from '../../serve/index.js';
import { UserError } from '../../errors.js';
import { intFlag, log, requireFlag } from '../args.js';
import { defineCommand, parseCommand } from '../flags.js';

export const SERVE_SPEC = defineCommand({
  name: 'serve',
  summary: 'HTTP scoring: POST /predict, GET /healthz, GET /model; SIGHUP reloads',
  usage: ['serve --model DIR [--port P] [--host H] [--max-body BYTES] [--threads N]'],
  description: 'Serve a saved model over HTTP: POST /predict {"rows": [...]} returns pctr, pcvr and pctcvr per row; GET /healthz and GET /model describe it. kill -HUP reloads DIR.',
  flags: {
    model: { type: 'string', value: 'DIR', default: 'required', help: 'a model directory written by esmm train' },
    port: { type: 'string', value: 'P', default: '8080', help: 'TCP port (0 picks a free one)' },
    host: { type: 'string', value: 'H', default: '127.0.0.1', help: 'address to listen on' },
    'max-body': { type: 'string', value: 'BYTES', default: String(DEFAULT_MAX_BODY), help: 'largest request body accepted' },
    threads: { type: 'string', value: 'N', default: '1', help: 'intra-op threads of the scoring session' },
  },
  examples: ['serve --model runs/esmm --port 8080'],
});

/** esmm serve: see SERVE_SPEC. */
export async function serveCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(SERVE_SPEC, argv);
  if (parsed === undefined) return 0;
  const { values } = parsed;
  const modelDir = requireFlag('serve', values.model, 'model');
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`esmm serve: --port expects 0..65535, got '${values.port}'`);
  const threads = intFlag('serve', values.threads, 'threads');
  const server = await startServer({
    modelDir,
    port,
    host: values.host ?? '127.0.0.1',
    maxBody: intFlag('serve', values['max-body'], 'max-body') ?? DEFAULT_MAX_BODY,
    ...(threads !== undefined ? { threads } : {}),
    log,
  });
  log(`serving ${server.current.info.model} (${server.current.info.version}) from ${modelDir} on ${server.url}  (POST /predict, GET /healthz, GET /model; kill -HUP ${process.pid} reloads)`);
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
