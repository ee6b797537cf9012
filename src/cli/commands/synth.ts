/**
 * `esmm synth --out DIR [--rows N] [--seed S] [--ctr X] [--cvr X] ...`: write a simulated funnel
 * with known probabilities (train/valid/test CSV and synth.json) and print the realised rates
 * next to the configured targets.
 */
import { UserError } from '../../errors.js';
import { DEFAULT_SYNTH_CONFIG, type SynthConfig, type SynthConfigInput } from '../../synth/config.js';
import { defineCommand, parseCommand, type FlagSpec } from '../flags.js';
import { formatFunnelStats } from '../../synth/stats.js';
import { writeSynth } from '../../synth/write.js';

/** Flag name -> config key and kind of value; the help line comes with it (flags.ts). */
const NUMERIC_FLAGS = {
  rows: { key: 'rows', integer: true, value: 'N', help: 'impressions in total' },
  seed: { key: 'seed', integer: true, value: 'S', help: 'random seed' },
  ctr: { key: 'ctr', integer: false, value: 'X', help: 'target p(click)' },
  cvr: { key: 'cvr', integer: false, value: 'X', help: 'target p(buy | click)' },
  'cart-rate': { key: 'cartRate', integer: false, value: 'X', help: 'target p(cart | click)' },
  'cart-log-odds': { key: 'cartLogOdds', integer: false, value: 'X', help: 'log odds ratio of buy given cart vs no cart' },
  corr: { key: 'attractQualityCorr', integer: false, value: 'X', help: 'correlation of item attractiveness and quality' },
  users: { key: 'users', integer: true, value: 'N', help: 'distinct users' },
  items: { key: 'items', integer: true, value: 'N', help: 'distinct items' },
  categories: { key: 'categories', integer: true, value: 'N', help: 'distinct item categories' },
  segments: { key: 'segments', integer: true, value: 'N', help: 'distinct user segments' },
  positions: { key: 'positions', integer: true, value: 'N', help: 'distinct display positions' },
} as const satisfies Record<string, { key: keyof SynthConfig; integer: boolean; value: string; help: string }>;

type NumericFlag = keyof typeof NUMERIC_FLAGS;
const numericSpecs = Object.fromEntries(
  Object.entries(NUMERIC_FLAGS).map(([flag, f]) => [flag, { type: 'string', value: f.value, default: String(DEFAULT_SYNTH_CONFIG[f.key]), help: f.help }]),
) as Record<NumericFlag, FlagSpec & { type: 'string' }>;

export const SYNTH_SPEC = defineCommand({
  name: 'synth',
  summary: 'write a simulated funnel with ground truth (train/valid/test CSV)',
  usage: ['synth --out DIR [options]'],
  description:
    "Simulate impressions, clicks, carts and buys whose probabilities are known, and write train.csv, valid.csv, test.csv and synth.json to DIR. Besides the labels, every row carries the truth: true_pcvr (p(buy | click, x)) and potential_buy (would this impression have converted if clicked). The realised rates are printed next to the targets.",
  flags: {
    out: { type: 'string', value: 'DIR', default: 'required', help: 'output directory' },
    ...numericSpecs,
    split: { type: 'string', value: 'A,B,C', default: DEFAULT_SYNTH_CONFIG.split.join(','), help: 'train,valid,test fractions' },
    quiet: { type: 'boolean', help: 'print nothing on success' },
  },
  examples: ['synth --out /tmp/s --rows 200000 --seed 3'],
});

export async function synthCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(SYNTH_SPEC, argv);
  if (parsed === undefined) return 0;
  const values: Record<string, string | boolean | undefined> = parsed.values;
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
