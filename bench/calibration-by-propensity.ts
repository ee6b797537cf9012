/**
 * Where is entire-space pCVR miscalibrated? (issue 13.) Trains each model with its built-in
 * defaults on one simulator regime and splits the test impressions into ten equal-count bins of
 * the simulator's true pCTR. Per bin: the share of impressions, the share of the clicks they are
 * expected to get (sum of true pCTR), mean predicted pCVR over mean true pCVR, and the same for
 * pCTCVR. Totals: the flat entire-space ratio (the quality grid's "pCVR mean/true") and the
 * click-weighted one, sum(true pCTR x pCVR) / sum(true pCTR x true pCVR): the part of pCVR's level
 * that clicks and buys can inform at all, since an impression's buys reach the loss (and any
 * calibration fit) only in proportion to its click probability.
 *
 *   node dist/bench/calibration-by-propensity.js [--regime sparse|anticorr|aligned|confounded]
 *     [--rows 1000000] [--seed 1] [--models esmm,escm2_dr] [--tower 128,64] [--calibration auto|none|platt|isotonic]
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/api/load-config.js';
import { loadData } from '../src/api/load-data.js';
import { prepareLogged, trainAndEvaluate } from '../src/api/pipeline.js';
import { TRUE_PCVR } from '../src/eval/evaluate.js';
import { REGIMES } from './regimes.js';

const { values } = parseArgs({
  options: {
    regime: { type: 'string', default: 'sparse' },
    rows: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    models: { type: 'string', default: 'esmm' },
    tower: { type: 'string' },
    calibration: { type: 'string' },
  },
});
const regime = REGIMES[values.regime];
if (regime === undefined) throw new Error(`unknown regime ${values.regime}; known: ${Object.keys(REGIMES).join(', ')}`);
const seed = Number(values.seed);
const overrides = {
  data: { synth: { rows: Number(values.rows), seed, ...regime } },
  train: { seed, ...(values.calibration !== undefined ? { calibration: values.calibration } : {}) },
  ...(values.tower !== undefined ? { model: { tower: values.tower.split(',').map(Number) } } : {}),
};
const base = loadConfig('esmm', overrides);
const data = await loadData(base.data, base.schema, { baseDir: base.baseDir });
const features = prepareLogged(base, data);
const test = features.test;
if (test === undefined) throw new Error('the simulator config has no test split');
const truePctr = test.truth.get('true_pctr');
const truePcvr = test.truth.get(TRUE_PCVR);
if (truePctr === undefined || truePcvr === undefined) throw new Error('the test split carries no simulator truth');

const BINS = 10;
const order = Array.from({ length: test.rows }, (_, i) => i).sort((a, b) => truePctr[a]! - truePctr[b]!);
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(3) : 'n/a');
console.log(`regime ${values.regime}, ${values.rows} impressions, seed ${seed}; test split ${test.rows} rows, binned by true pCTR`);
for (const name of values.models.split(',')) {
  const config = loadConfig(name, overrides);
  const r = await trainAndEvaluate(config, { prepared: { data, features } });
  const pred = await r.result.model.predictEncoded(test);
  await r.result.model.release();
  const clickTotal = order.reduce((s, i) => s + truePctr[i]!, 0);
  console.log(`\n${name} (kept epoch ${r.result.keptEpoch}, calibration ${config.train.calibration ?? 'auto'})`);
  console.log('bin  true pCTR range   rows   exp. clicks  pCVR pred/true  pCTCVR pred/true');
  let flatPred = 0, flatTrue = 0, wPred = 0, wTrue = 0;
  for (let b = 0; b < BINS; b++) {
    const lo = Math.floor((b * order.length) / BINS);
    const hi = Math.floor(((b + 1) * order.length) / BINS);
    let clicks = 0, pcvr = 0, tcvr = 0, pctcvr = 0, tctcvr = 0;
    for (let k = lo; k < hi; k++) {
      const i = order[k]!;
      clicks += truePctr[i]!;
      pcvr += pred.pcvr[i]!;
      tcvr += truePcvr[i]!;
      pctcvr += pred.pctcvr[i]!;
      tctcvr += truePctr[i]! * truePcvr[i]!;
      wPred += truePctr[i]! * pred.pcvr[i]!;
      wTrue += truePctr[i]! * truePcvr[i]!;
    }
    flatPred += pcvr;
    flatTrue += tcvr;
    const range = `${truePctr[order[lo]!]!.toFixed(4)}-${truePctr[order[hi - 1]!]!.toFixed(4)}`;
    console.log(`${String(b + 1).padStart(3)}  ${range.padEnd(15)} ${String(hi - lo).padStart(6)}  ${((clicks / clickTotal) * 100).toFixed(1).padStart(10)}%  ${ratio(pcvr, tcvr).padStart(14)}  ${ratio(pctcvr, tctcvr).padStart(16)}`);
  }
  console.log(`entire-space pCVR mean / true: flat ${ratio(flatPred, flatTrue)}, click-weighted ${ratio(wPred, wTrue)}`);
}
