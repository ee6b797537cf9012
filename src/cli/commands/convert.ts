/**
 * `esmm convert ali-ccp --skeleton F --common F --out F.parquet`: raw dataset files -> Parquet.
 * argv holds the words after `convert`.
 */
import { convertAliCcp, type ConvertProgress } from '../../datasets/convert-ali-ccp.js';
import { UserError } from '../../errors.js';
import { intFlag, log, requireFlag } from '../args.js';
import { defineCommand, parseCommand } from '../flags.js';
import { convertEventsCommand } from './convert-events.js';
import { formatCount, formatDuration, formatRate, isTerminal, showProgress } from '../progress-line.js';

export const CONVERT_SPEC = defineCommand({
  name: 'convert',
  summary: 'raw Ali-CCP files -> Parquet; raw event logs -> funnel rows (convert events)',
  usage: ['convert ali-ccp --skeleton FILE --common FILE --out FILE.parquet [options]'],
  description:
    "Converts the raw Ali-CCP files (sample_skeleton_*.csv, common_features_*.csv) into one Parquet file with columns click, buy and one text column per field (f101, f205, ...). Single-valued fields hold the feature id; behaviour and cross fields hold 'id:value|id:value'. Read it with the 'ali-ccp' dataset preset. Raw event logs (Taobao UserBehavior, REES46, any user/item/event/time log): see 'esmm convert events --help'.",
  positionals: { 'ali-ccp': 'the raw Ali-CCP format', events: "raw event logs: 'esmm convert events --help'" },
  flags: {
    skeleton: { type: 'string', value: 'FILE', default: 'required', help: 'sample_skeleton_{train,test}.csv' },
    common: { type: 'string', value: 'FILE', default: 'required', help: 'common_features_{train,test}.csv' },
    out: { type: 'string', value: 'FILE', default: 'required', help: 'the Parquet file to write' },
    'memory-limit': { type: 'string', value: 'SIZE', default: "DuckDB's, 80% of RAM", help: 'DuckDB memory limit, e.g. 4GB; past it DuckDB spills to the temp directory' },
    'temp-dir': { type: 'string', value: 'DIR', default: 'next to the output, removed afterwards', help: 'where DuckDB spills' },
    threads: { type: 'string', value: 'N', default: "DuckDB's, one per core", help: 'DuckDB threads for the parallel stages' },
    'any-order': { type: 'boolean', help: "use every core for the join too; rows then come out in varying order (by default they keep the skeleton's line order)" },
    quiet: { type: 'boolean', help: 'no progress on stderr' },
  },
  examples: ['convert ali-ccp --skeleton sample_skeleton_train.csv --common common_features_train.csv --out train.parquet'],
});

export async function convertCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'events') return convertEventsCommand(argv.slice(1));
  const parsed = parseCommand(CONVERT_SPEC, argv);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
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
    onProgress: values.quiet === true ? undefined : progressPrinter(),
  });
  log(`wrote ${result.rows} rows to ${result.out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

/**
 * Progress of each stage with elapsed time, rate and ETA: a rewritten line on a terminal; on a
 * pipe, one line per stage when it ends (and every 10% on the way).
 */
function progressPrinter(): (progress: ConvertProgress) => void {
  let stage = '';
  // A stage starts when the converter starts (the first) or when the previous one reported last.
  let t0 = performance.now();
  let last = t0;
  let lastDecile = -1;
  return (p) => {
    const now = performance.now();
    if (p.stage !== stage) {
      if (stage !== '') t0 = last;
      stage = p.stage;
      lastDecile = -1;
    }
    last = now;
    const what = p.stage === 'common' ? 'common features' : 'samples';
    const elapsed = (now - t0) / 1000;
    const rate = p.rows / Math.max(elapsed, 1e-3);
    const eta = Math.max(0, p.estimatedRows - p.rows) / Math.max(rate, 1e-9);
    const line = `${what}: ${formatCount(p.rows)} of ~${formatCount(p.estimatedRows)} lines (${p.percentage.toFixed(0)}%)  ${formatRate(rate)} lines/s  ${formatDuration(elapsed)}${p.percentage < 100 ? ` ETA ${formatDuration(eta)}` : ''}`;
    if (isTerminal() && p.percentage < 100) {
      showProgress(line);
      return;
    }
    const decile = Math.floor(p.percentage / 10);
    if (p.percentage >= 100 || decile > lastDecile) {
      lastDecile = decile;
      log(line);
    }
  };
}
