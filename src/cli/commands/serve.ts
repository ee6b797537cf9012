import { startServer, DEFAULT_MAX_BODY } from '../../serve/index.js';
import { UserError } from '../../errors.js';
import { intFlag, log, parseFlags, requireFlag } from '../args.js';

/** esmm serve --model DIR [--port P] [--host 127.0.0.1] [--max-body BYTES] [--threads N]; SIGHUP reloads DIR. */
export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('serve', argv, {
    model: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'max-body': { type: 'string' },
    threads: { type: 'string' },
  });
  const modelDir = requireFlag('serve', values.model, 'model');
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port expects 0..65535, got '${values.port}'`);
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
