/**
 * `esmm convert ali-ccp --skeleton F --common F --out F.parquet`: raw dataset files -> Parquet.
 * argv holds the words after `convert`.
 */
import { convertAliCcp, type ConvertProgress } from '../../datasets/convert-ali-ccp.js';
import { UserError } from '../../errors.js';
import { intFlag, log, parseFlags, requireFlag } from '../args.js';
import { convertEventsCommand } from './convert-events.js';

export const CONVERT_USAGE = `usage: esmm convert ali-ccp --skeleton FILE --common FILE --out FILE.parquet [options]

Converts the raw Ali-CCP files (sample_skeleton_*.csv, common_features_*.csv) into one Parquet
file with columns click, buy and one text column per field (f101, f205, ...). Single-valued
fields hold the feature id; behaviour and cross fields hold 'id:value|id:value'.
Read it with the 'ali-ccp' dataset preset.

Raw event logs (Taobao UserBehavior, REES46, any user/item/event/time log): see
'esmm convert events --help'.

options:
  --memory-limit SIZE  DuckDB memory limit, e.g. 4GB (default: DuckDB's, 80% of RAM);
                       past it DuckDB spills to the temp directory
  --temp-dir DIR       where DuckDB spills (default: next to the output, removed afterwards)
  --threads N          DuckDB threads for the parallel stages
  --any-order          use every core for the join too; rows then come out in varying order
                       (by default they keep the skeleton's line order)
  --quiet              no progress on stderr`;

const OPTIONS = {
  skeleton: { type: 'string' },
  common: { type: 'string' },
  out: { type: 'string' },
  'memory-limit': { type: 'string' },
  'temp-dir': { type: 'string' },
  threads: { type: 'string' },
  'any-order': { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function convertCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'events') return convertEventsCommand(argv.slice(1));
  const { values, positionals } = parseFlags('convert', argv, OPTIONS);
  if (values.help === true) {
    console.log(CONVERT_USAGE);
    return 0;
  }
  const [format, ...extra] = positionals;
  if (format === undefined) throw new UserError("name a format (known: ali-ccp, events); see 'esmm convert --help'");
  if (format !== 'ali-ccp') throw new UserError(`unknown format '${format}' (known: ali-ccp, events)`);
  if (extra.length > 0) throw new UserError(`unexpected argument '${extra[0]}'`);
  const started = Date.now();
  const result = await convertAliCcp({
    skeleton: requireFlag('convert', values.skeleton, 'skeleton'),
    common: requireFlag('convert', values.common, 'common'),
    out: requireFlag('convert', values.out, 'out'),
    memoryLimit: values['memory-limit'],
    tempDir: values['temp-dir'],
    threads: intFlag('convert', values.threads, 'threads'),
    keepOrder: values['any-order'] !== true,
    onProgress: values.quiet === true ? undefined : printProgress,
  });
  log(`wrote ${result.rows} rows to ${result.out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

function printProgress(progress: ConvertProgress): void {
  const what = progress.stage === 'common' ? 'common features' : 'samples';
  log(`${what}: ${progress.rows} of ~${progress.estimatedRows} lines (${progress.percentage.toFixed(0)}%)`);
}
