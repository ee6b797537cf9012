/**
 * Per-epoch loss terms and calibration of esmm, escm2_ipw and escm2_dr on the simulator (issue 17):
 * does each model converge to its own objective? Prints, per model and epoch, the mean training
 * loss terms and, on the validation split, mean pCTCVR / buy rate (calibration_ctcvr), mean pCVR
 * on clicked rows / their buy rate (calibration_cvr_clicked) and entire-space pCVR calibration.
 * Early stopping is off here so every epoch is seen.
 *
 *   node dist/bench/escm2-convergence.js [--rows 200000] [--seed 1] [--epochs 5]
 *     [--models esmm,escm2_ipw,escm2_dr] [--regime sparse|anticorr] [--tower 128,64] [--set KEY=VALUE ...]
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/api/load-config.js';
import { loadData } from '../src/api/load-data.js';
import { prepareFeatures } from '../src/api/prepare-features.js';
import { trainFunnel } from '../src/train/trainer.js';

const REGIMES: Record<string, Record<string, unknown>> = {
  anticorr: { attractQualityCorr: -0.7 },
  sparse: { ctr: 0.02, cvr: 0.03, subspaceDim: 10, attractQualityCorr: 0, effects: { quality: 0.3, convAffinity: 1.5 } },
};

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    seed: { type: 'string', default: '1' },
    epochs: { type: 'string', default: '5' },
    models: { type: 'string', default: 'esmm,escm2_ipw,escm2_dr' },
    regime: { type: 'string', default: 'sparse' },
    tower: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const regime = REGIMES[values.regime];
if (regime === undefined) throw new Error(`unknown regime ${values.regime}`);
const seed = Number(values.seed);
const overrides: Record<string, unknown> = {
  data: { synth: { rows: Number(values.rows), seed, ...regime } },
  train: { seed, epochs: Number(values.epochs), early_stopping: false },
  ...(values.tower !== undefined ? { model: { tower: values.tower.split(',').map(Number) } } : {}),
};
for (const a of values.set) {
  const eq = a.indexOf('=');
  const path = a.slice(0, eq).split('.');
  const raw = a.slice(eq + 1);
  let obj = overrides;
  for (const k of path.slice(0, -1)) obj = (obj[k] ??= {}) as Record<string, unknown>;
  obj[path[path.length - 1]!] = Number.isFinite(Number(raw)) ? Number(raw) : raw;
}
const base = loadConfig('esmm', overrides);
const data = await loadData(base.data, base.schema, { baseDir: base.baseDir });
const features = prepareFeatures(base.schema, data, base.features);
const f = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(4));
console.log(`rows ${values.rows}, regime ${values.regime}, seed ${seed}${values.set.length > 0 ? `, set ${values.set.join(' ')}` : ''}`);
for (const name of values.models.split(',')) {
  const config = { ...base, model: { ...base.model, name } };
  const r = await trainFunnel(config, features.spec, features.train, features.valid, {
    onEpoch: (e) => {
      const v = e.valid ?? {};
      const terms = Object.entries(e.train).map(([k, x]) => `${k} ${f(x)}`).join(', ');
      console.log(`${name.padEnd(9)} epoch ${e.epoch}: train [${terms}] | valid pCTCVR/buy ${f(v.calibration_ctcvr)}, clicked pCVR/buy ${f(v.calibration_cvr_clicked)}, ` +
        `entire pCVR/true ${f(v.calibration_cvr_entire_space)}, pCVR AUC entire ${f(v.auc_cvr_entire_space)}, CTR AUC ${f(v.auc_ctr)}, CTCVR AUC ${f(v.auc_ctcvr)}`);
    },
  });
  await r.model.release();
}
