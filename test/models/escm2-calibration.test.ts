/**
 * ESCM2 converges to its own objective (issue 17): after the built-in configs' default number of
 * epochs on simulated data, escm2_ipw and escm2_dr predict the training rows' buy rate with their
 * mean pCTCVR, and the clicked rows' buy rate with their mean pCVR there, each within 25%. With
 * zero-initialised output biases pCTR spent the first epoch far above the click rate, so the
 * inverse-propensity weights 1 / pCTR (and the IPW risk itself) kept moving under the CVR tower.
 * Three data seeds: with the old settings (zero output biases, risk weight 1, plain IPW) seed 5
 * fails for both models (pCTCVR 0.49 of the buy rate) and seed 3 for escm2_dr (clicked 0.72),
 * where one seed let escm2_ipw pass by 0.004; today the lowest ratio is 0.85 (issue 17).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/api/load-config.js';
import { loadData } from '../../src/api/load-data.js';
import { prepareFeatures } from '../../src/api/prepare-features.js';
import { trainFunnel } from '../../src/train/trainer.js';

describe('ESCM2 calibration on its training rows', () => {
  it.each(['escm2_ipw', 'escm2_dr'].flatMap((name) => [3, 4, 5].map((seed) => [name, seed] as const)))('%s (data seed %i): mean pCTCVR and clicked-row pCVR within 25%% of the observed rates', async (name, seed) => {
    // The built-in config (its epochs, batch size, learning rate, early stopping), on a small
    // simulation with small towers so the test stays fast.
    const config = loadConfig(name, {
      data: { synth: { rows: 60000, seed } },
      model: { tower: [64, 32] },
      train: { threads: 1 },
    });
    const data = await loadData(config.data, config.schema, { baseDir: config.baseDir });
    const f = prepareFeatures(config.schema, data, config.features);
    const r = await trainFunnel(config, f.spec, f.train, f.valid);
    const p = await r.model.predictEncoded(f.train);
    await r.model.release();
    const { click, buy } = f.train.labels;
    let buys = 0;
    let clicks = 0;
    let sumCtcvr = 0;
    let sumCvrClicked = 0;
    for (let i = 0; i < f.train.rows; i++) {
      buys += buy[i]!;
      sumCtcvr += p.pctcvr[i]!;
      if (click[i] === 1) {
        clicks++;
        sumCvrClicked += p.pcvr[i]!;
      }
    }
    const ctcvrRatio = sumCtcvr / buys;
    const clickedRatio = sumCvrClicked / clicks / (buys / clicks);
    expect(buys).toBeGreaterThan(100);
    console.log(`${name} seed ${seed}: mean pCTCVR / buy rate ${ctcvrRatio.toFixed(3)}, clicked-row pCVR / buy rate ${clickedRatio.toFixed(3)} (epochs run ${r.history.length})`);
    expect({ name, ctcvrRatio }).toEqual({ name, ctcvrRatio: expect.toSatisfy((x: number) => x > 0.75 && x < 1.25) });
    expect({ name, clickedRatio }).toEqual({ name, clickedRatio: expect.toSatisfy((x: number) => x > 0.75 && x < 1.25) });
  }, 300_000);
});
