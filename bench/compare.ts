/**
 * Model comparison on the ground-truth simulator (the ESMM paper's Table 1 protocol plus the
 * entire-space pCVR AUC that only a simulator can give): every model trains on the same rows with
 * the same seed for a fixed number of epochs (validation CTCVR has too few conversions in the sparse
 * regime to early-stop on reliably; --early-stopping turns it on), and is scored on the test split.
 *
 *   node dist/bench/compare.js [--rows 1000000] [--seeds 1,2,3] [--models esmm,naive_cvr,esm2] [--regime sparse|default]
 *
 * Prints one JSON line per (seed, model), then the mean table.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/api/load-config.js';
import { compareModels } from '../src/api/compare.js';
import { printTable } from '../src/report/table.js';
import type { FlatMetrics } from '../src/eval/evaluate.js';

/** Simulator regimes: `sparse` is Ali-CCP-like (CTR 2%, CVR 3%, conversion driven by the user-item affinity that also drives clicks). */
const REGIMES: Record<string, Record<string, unknown>> = {
  default: {},
  sparse: { ctr: 0.02, cvr: 0.03, subspaceDim: 10, attractQualityCorr: 0, effects: { quality: 0.3, convAffinity: 1.5 } },
};

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    seeds: { type: 'string', default: '1,2,3' },
    models: { type: 'string', default: 'esmm,naive_cvr,esm2,division,escm2_ipw' },
    regime: { type: 'string', default: 'sparse' },
    epochs: { type: 'string', default: '2' },
    'early-stopping': { type: 'boolean', default: false },
  },
});
const regime = REGIMES[values.regime];
if (regime === undefined) throw new Error(`unknown regime ${values.regime}; known: ${Object.keys(REGIMES).join(', ')}`);
const models = values.models.split(',');
const sums: Record<string, FlatMetrics> = {};
const seeds = values.seeds.split(',').map(Number);
for (const seed of seeds) {
  const config = loadConfig('esmm', {
    data: { synth: { rows: Number(values.rows), seed, ...regime } },
    model: { tower: [128, 64] },
    train: { epochs: Number(values.epochs), batch_size: 1024, seed, ...(values['early-stopping'] ? { early_stopping: { metric: 'auc_ctcvr', patience: 1 } } : {}) },
  });
  const r = await compareModels(config, models, {});
  for (const m of models) {
    const metrics = r.metrics[m]!;
    console.log(JSON.stringify({ bench: 'compare', regime: values.regime, rows: Number(values.rows), seed, model: m, seconds: Math.round(r.seconds[m]!),
      auc_cvr_entire_space: metrics.auc_cvr_entire_space, auc_cvr_clicked: metrics.auc_cvr_clicked, auc_ctcvr: metrics.auc_ctcvr, auc_ctr: metrics.auc_ctr,
      calibration_cvr_entire_space: metrics.calibration_cvr_entire_space }));
    const acc = (sums[m] ??= {});
    for (const [k, v] of Object.entries(metrics)) acc[k] = (acc[k] ?? 0) + v / seeds.length;
  }
}
console.log(`\nmean over seeds ${values.seeds}, ${values.rows} impressions, regime ${values.regime}, test split`);
console.log(printTable(sums));
