/**
 * `esmm synth --out DIR [--rows N] [--seed S] [--ctr X] [--cvr X] ...`: write a simulated funnel
 * with known probabilities (train/valid/test CSV and synth.json) and print the realised rates
 * next to the configured targets.
 */
import { parseArgs } from 'node:util';
import { UserError } from '../../errors.js';
import type { SynthConfigInput } from '../../synth/config.js';
import { formatFunnelStats } from '../../synth/stats.js';
import { writeSynth } from '../../synth/write.js';

export const SYNTH_USAGE = `usage: esmm synth --out DIR [options]
  --out DIR              output directory (train.csv, valid.csv, test.csv, synth.json)
  --rows N               impressions in total (default 200000)
  --seed S               random seed (default 42)
  --ctr X                target p(click) (default 0.04)
  --cvr X                target p(buy | click) (default 0.08)
  --cart-rate X          target p(cart | click) (default 0.25)
  --cart-log-odds X      log odds ratio of buy given cart vs no cart (default 2.5)
  --corr X               correlation of item attractiveness and quality (default -0.7)
  --users N --items N --categories N --segments N --positions N
  --split A,B,C          train,valid,test fractions (default 0.8,0.1,0.1)
  --quiet                print nothing on success`;

/** Flag name -> config key and kind of value. */
const NUMERIC_FLAGS: Record<string, { key: keyof SynthConfigInput; integer: boolean }> = {
  rows: { key: 'rows', integer: true },
  seed: { key: 'seed', integer: true },
  ctr: { key: 'ctr', integer: false },
  cvr: { key: 'cvr', integer: false },
  'cart-rate': { key: 'cartRate', integer: false },
  'cart-log-odds': { key: 'cartLogOdds', integer: false },
  corr: { key: 'attractQualityCorr', integer: false },
  users: { key: 'users', integer: true },
  items: { key: 'items', integer: true },
  categories: { key: 'categories', integer: true },
  segments: { key: 'segments', integer: true },
  positions: { key: 'positions', integer: true },
};

export async function synthCommand(argv: string[]): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    out: { type: 'string' },
    split: { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean' },
  };
  for (const flag of Object.keys(NUMERIC_FLAGS)) options[flag] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true }));
  } catch (e) {
    throw new UserError(`${(e as Error).message.split('\n')[0]}; see 'esmm synth --help'`);
  }
  if (values.help === true) {
    console.log(SYNTH_USAGE);
    return 0;
  }
  const out = values.out;
  if (typeof out !== 'string' || out === '') throw new UserError('--out DIR is required');

  const cfg: Record<string, unknown> = {};
  for (const [flag, { key, integer }] of Object.entries(NUMERIC_FLAGS)) {
    const raw = values[flag];
    if (typeof raw === 'string') cfg[key] = parseNumber(raw, flag, integer);
  }
  if (typeof values.split === 'string') {
    const parts = values.split.split(',').map((s) => parseNumber(s, 'split', false));
    if (parts.length !== 3) throw new UserError(`--split expects three comma-separated fractions, e.g. 0.8,0.1,0.1, got '${values.split}'`);
    cfg.split = parts;
  }
  // Config keys and values are validated (with the key named) by resolveSynthConfig.
  const summary = await writeSynth(out, cfg as SynthConfigInput);
  if (values.quiet !== true) {
    console.log(`wrote ${summary.files.train}, ${summary.files.valid}, ${summary.files.test}, ${summary.files.meta}`);
    console.log(formatFunnelStats(summary));
  }
  return 0;
}

function parseNumber(raw: string, flag: string, integer: boolean): number {
  const v = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new UserError(`--${flag} expects ${integer ? 'an integer' : 'a number'}, got '${raw}'`);
  }
  return v;
}
