/**
 * esmm launch: starts N local `esmm train --worker I/N` processes over one store and
 * waits for them (tests and demos; on several hosts run `esmm train --worker I/N` on each).
 * Every flag except --workers goes to each worker unchanged; each worker's lines are prefixed
 * with [wI]. When one worker fails the others are stopped (they would wait for it forever).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../errors.js';
import { log } from '../args.js';
import { commandHelp, defineCommand } from '../flags.js';

export const LAUNCH_SPEC = defineCommand({
  name: 'launch',
  summary: 'start N local training workers sharing embedding tables in a Redis Cluster (--store)',
  usage: ['launch --workers N --store redis://HOST:PORT --config FILE|NAME [train options]'],
  description:
    'Runs `esmm train --worker I/N` for I = 0..N-1 as local processes over one store. Worker 0 writes the model to --out. ' +
    'Every other option is passed to each worker as given (see `esmm train --help`). On several hosts, run `esmm train --store ... --worker I/N` on each instead.',
  flags: {
    workers: { type: 'string', value: 'N', default: 'required', help: 'worker processes to start (each reads and trains on its own share of the training files)' },
    store: { type: 'string', value: 'URL', default: 'required', help: 'redis://host:port of a node of the Redis Cluster' },
  },
  examples: ['launch --workers 2 --store redis://127.0.0.1:7000 --config esmm --out runs/esmm-2w --rows 50000'],
});

const BIN = fileURLToPath(new URL('../../../../bin/esmm.js', import.meta.url));

export async function launchCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${commandHelp(LAUNCH_SPEC)}\n`);
    return 0;
  }
  const rest: string[] = [];
  let workers: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--workers') workers = argv[++i];
    else if (a.startsWith('--workers=')) workers = a.slice('--workers='.length);
    else if (a === '--worker' || a.startsWith('--worker=')) throw new UserError('launch sets --worker itself; give --workers N');
    else rest.push(a);
  }
  const n = Number(workers);
  if (workers === undefined || !Number.isInteger(n) || n < 1 || n > 64) throw new UserError(`--workers must be an integer in 1..64, got '${workers ?? ''}'`);
  if (!rest.some((a) => a === '--store' || a.startsWith('--store='))) throw new UserError('launch needs --store redis://host:port');
  const children: ChildProcess[] = [];
  const codes = await Promise.all(
    Array.from({ length: n }, (_, i) => new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'train', ...rest, '--worker', `${i}/${n}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      const prefix = (stream: NodeJS.ReadableStream, out: (s: string) => void): void => {
        let buf = '';
        stream.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split(/\r?\n|\r/);
          buf = lines.pop()!;
          for (const l of lines) if (l.length > 0) out(`[w${i}] ${l}\n`);
        });
        stream.on('end', () => {
          if (buf.length > 0) out(`[w${i}] ${buf}\n`);
        });
      };
      prefix(child.stdout!, (s) => process.stdout.write(s));
      prefix(child.stderr!, (s) => process.stderr.write(s));
      child.on('exit', (code, signal) => {
        const c = code ?? (signal !== null ? 128 : 1);
        if (c !== 0) {
          log(`worker ${i} exited with ${signal ?? code}; stopping the others`);
          for (const other of children) if (other !== child && other.exitCode === null) other.kill('SIGTERM');
        }
        resolve(c);
      });
    })),
  );
  return codes.find((c) => c !== 0) ?? 0;
}
