/**
 * Post-hoc calibration methods on the ground-truth simulator (issue 13 item 4): one model trained
 * per (seed, model), then every calibration method fitted on its validation split and scored on
 * the test split: entire-space pCVR calibration (mean predicted / mean true pCVR), CTR and CTCVR
 * calibration, and the AUCs each method keeps or loses.
 *
 *   node dist/bench/calibration.js [--rows 200000] [--seeds 1,2] [--models esmm,esm2] [--regime default|sparse] [--epochs 1]
 *
 * Not a test: prints one JSON line per (seed, model, method) and a mean table.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/api/load-config.js';
import { loadData } from '../src/api/load-data.js';
import { prepareFeatures } from '../src/api/prepare-features.js';
import { trainAndEvaluate } from '../src/api/pipeline.js';
import { evaluatePredictions } from '../src/eval/evaluate.js';
import { fitCalibration } from '../src/models/calibration/fit.js';
import { calibratePredictions } from '../src/models/calibration/apply.js';

const REGIMES: Record<string, Record<string, unknown>> = {
  default: {},
  sparse: { ctr: 0.02, cvr: 0.03, subspaceDim: 10, attractQualityCorr: 0, effects: { quality: 0.3, convAffinity: 1.5 } },
};
const METHODS = ['none', 'isotonic', 'platt'] as const;
const KEYS = ['calibration_cvr_entire_space', 'calibration_ctr', 'calibration_ctcvr', 'auc_cvr_entire_space', 'auc_ctr', 'auc_ctcvr', 'logloss_ctcvr'] as const;

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    seeds: { type: 'string', default: '1,2' },
    models: { type: 'string', default: 'esmm' },
    regime: { type: 'string', default: 'default' },
    epochs: { type: 'string', default: '1' },
  },
});
const regime = REGIMES[values.regime];
if (regime === undefined) throw new Error(`unknown regime ${values.regime}`);
const acc: Record<string, Record<string, number[]>> = {};
for (const seed of values.seeds.split(',').map(Number)) {
  const synth = { data: { synth: { rows: Number(values.rows), seed, ...regime } } };
  const base = loadConfig('esm2', { ...synth, train: { seed } });
  const data = await loadData(base.data, base.schema, { baseDir: base.baseDir });
  const features = prepareFeatures(base.schema, data, base.features);
  for (const name of values.models.split(',')) {
    const config = loadConfig('esm2', { ...synth, model: { name, tower: [128, 64] }, train: { epochs: Number(values.epochs), batch_size: 1024, seed } });
    const r = await trainAndEvaluate(config, { prepared: { data, features } });
    const model = r.result.model;
    const validPred = await model.predictUncalibrated(features.valid!);
    const testPred = await model.predictUncalibrated(features.test!);
    for (const method of METHODS) {
      const pred = method === 'none' ? testPred : calibratePredictions(testPred, fitCalibration(method, features.valid!, validPred, 'valid'));
      const m = evaluatePredictions(features.test!, pred);
      const key = `${name} ${method}`;
      const line: Record<string, unknown> = { bench: 'calibration', regime: values.regime, rows: Number(values.rows), seed, model: name, method };
      for (const k of KEYS) {
        line[k] = Math.round(m[k]! * 1e4) / 1e4;
        ((acc[key] ??= {})[k] ??= []).push(m[k]!);
      }
      console.log(JSON.stringify(line));
    }
    await model.release();
  }
}
console.log(`\nregime ${values.regime}, ${values.rows} impressions, seeds ${values.seeds}, ${values.epochs} epoch(s); fitted on valid, scored on test; mean (min..max)`);
console.log(['model method', ...KEYS].join(' | '));
for (const [key, cols] of Object.entries(acc)) {
  console.log([key, ...KEYS.map((k) => {
    const xs = cols[k]!;
    return `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3)} (${Math.min(...xs).toFixed(3)}..${Math.max(...xs).toFixed(3)})`;
  })].join(' | '));
}
