/**
 * Interaction layers and post-hoc calibration on the ground-truth simulator (issue 13 items 3-4):
 * the same rows, seed and settings for each architecture variant of one model, scored on the
 * test split, calibrated (train.calibration) on the validation split, with the uncalibrated
 * metrics of the same weights alongside.
 *
 *   node dist/bench/interactions.js [--rows 200000] [--seeds 1,2] [--model esmm] [--regime default|sparse]
 *     [--variants mlp,fm,inner_product,dcn_bottom,dcn_tower] [--epochs 1] [--calibration isotonic|platt]
 *
 * Prints one JSON line per (seed, variant), then the means and spreads. Not a test: numbers only.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/api/load-config.js';
import { loadData } from '../src/api/load-data.js';
import { prepareFeatures } from '../src/api/prepare-features.js';
import { trainAndEvaluate } from '../src/api/pipeline.js';
import type { FlatMetrics } from '../src/eval/evaluate.js';

const REGIMES: Record<string, Record<string, unknown>> = {
  default: {},
  sparse: { ctr: 0.02, cvr: 0.03, subspaceDim: 10, attractQualityCorr: 0, effects: { quality: 0.3, convAffinity: 1.5 } },
  // Strong affinity: clicks and conversions driven by the user x item latent product.
  affinity: { attractQualityCorr: -0.7, effects: { clickAffinity: 1.6, convAffinity: 1.6 } },
};

const USER = ['user_id', 'user_segment'];
const ITEM = ['item_id', 'item_category'];
const VARIANTS: Record<string, (towers: string[]) => Record<string, unknown>> = {
  mlp: () => ({}),
  fm: (towers) => ({ towers: Object.fromEntries(towers.map((t) => [t, { type: 'fm' }])) }),
  inner_product: () => ({ inner_product: { user: USER, item: ITEM } }),
  dcn_bottom: () => ({ bottom: { type: 'dcn', cross_layers: 2 } }),
  dcn_tower: (towers) => ({ towers: Object.fromEntries(towers.map((t) => [t, { type: 'dcn', cross_layers: 2 }])) }),
  dcn_ip: () => ({ bottom: { type: 'dcn', cross_layers: 2 }, inner_product: { user: USER, item: ITEM } }),
};
const TOWERS: Record<string, string[]> = { esmm: ['ctr', 'cvr'], naive_cvr: ['ctr', 'cvr'], esm2: ['ctr', 'action', 'buy_after_action', 'buy_no_action'] };

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    seeds: { type: 'string', default: '1,2' },
    model: { type: 'string', default: 'esmm' },
    regime: { type: 'string', default: 'default' },
    variants: { type: 'string', default: 'mlp,fm,inner_product,dcn_bottom,dcn_tower' },
    epochs: { type: 'string', default: '1' },
    calibration: { type: 'string', default: 'isotonic' },
  },
});
const regime = REGIMES[values.regime];
if (regime === undefined) throw new Error(`unknown regime ${values.regime}; known: ${Object.keys(REGIMES).join(', ')}`);
const variants = values.variants.split(',');
for (const v of variants) if (VARIANTS[v] === undefined) throw new Error(`unknown variant ${v}; known: ${Object.keys(VARIANTS).join(', ')}`);
const seeds = values.seeds.split(',').map(Number);
const KEYS = ['auc_cvr_entire_space', 'auc_ctr', 'auc_ctcvr', 'auc_cvr_clicked', 'calibration_cvr_entire_space', 'calibration_ctr', 'calibration_ctcvr'] as const;
const rows: Record<string, Record<string, number[]>> = {};

for (const seed of seeds) {
  const base = loadConfig(values.model, {
    data: { synth: { rows: Number(values.rows), seed, ...regime } },
    model: { tower: [128, 64] },
    train: { epochs: Number(values.epochs), batch_size: 1024, seed, calibration: values.calibration },
  });
  const data = await loadData(base.data, base.schema, { baseDir: base.baseDir });
  const features = prepareFeatures(base.schema, data, base.features);
  for (const v of variants) {
    const over = VARIANTS[v]!(TOWERS[values.model] ?? ['ctr', 'cvr']);
    const config = loadConfig(values.model, {
      data: { synth: { rows: Number(values.rows), seed, ...regime } },
      model: { tower: [128, 64], ...over },
      train: { epochs: Number(values.epochs), batch_size: 1024, seed, calibration: values.calibration },
    });
    const t0 = performance.now();
    const r = await trainAndEvaluate(config, { prepared: { data, features } });
    await r.result.model.release();
    const cal = r.metrics;
    const raw = (r.summary.metrics_uncalibrated as FlatMetrics | undefined) ?? cal;
    const line: Record<string, unknown> = { bench: 'interactions', model: values.model, regime: values.regime, rows: Number(values.rows), seed, variant: v, seconds: Math.round((performance.now() - t0) / 1000) };
    for (const k of KEYS) {
      line[k] = round(cal[k]);
      line[`raw_${k}`] = round(raw[k]);
    }
    console.log(JSON.stringify(line));
    const acc = (rows[v] ??= {});
    for (const k of KEYS) {
      (acc[k] ??= []).push(cal[k]!);
      (acc[`raw_${k}`] ??= []).push(raw[k]!);
    }
  }
}

console.log(`\n${values.model}, regime ${values.regime}, ${values.rows} impressions, seeds ${values.seeds}, ${values.epochs} epoch(s), test split; mean (min..max); raw = before ${values.calibration} calibration`);
const cols = ['raw_auc_cvr_entire_space', 'raw_auc_ctr', 'raw_auc_ctcvr', 'raw_auc_cvr_clicked', 'auc_cvr_entire_space', 'auc_ctr', 'raw_calibration_cvr_entire_space', 'calibration_cvr_entire_space'];
console.log(['variant', ...cols].join(' | '));
for (const v of variants) {
  console.log([v, ...cols.map((c) => fmt(rows[v]![c]!))].join(' | '));
}

function fmt(xs: number[]): string {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return `${m.toFixed(4)} (${Math.min(...xs).toFixed(3)}..${Math.max(...xs).toFixed(3)})`;
}
function round(x: number | undefined): number | undefined {
  return x === undefined ? undefined : Math.round(x * 1e4) / 1e4;
}
