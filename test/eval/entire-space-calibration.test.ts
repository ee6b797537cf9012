/**
 * Entire-space pCVR calibration on simulator truth: the flat ratio weighs every impression alike,
 * the click-weighted one weighs each by its true click probability (src/eval/evaluate.ts).
 */
import { describe, expect, it } from 'vitest';
import type { EncodedChunk } from '../../src/data/batch.js';
import { evaluatePredictions } from '../../src/eval/evaluate.js';

function chunk(truePctr: number[], truePcvr: number[]): EncodedChunk {
  const n = truePctr.length;
  const click = Float32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const buy = Float32Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0));
  return {
    rows: n, categorical: [], multiValued: [], numeric: new Float32Array(0),
    labels: { click, buy, actions: new Map() },
    truth: new Map([['true_pctr', Float32Array.from(truePctr)], ['true_pcvr', Float32Array.from(truePcvr)]]),
  };
}

describe('entire-space pCVR calibration', () => {
  // Two impressions: one almost never clicked (true pCTR .001, true pCVR .01), one often (.5, .2).
  const data = chunk([0.001, 0.5, 0.001, 0.5], [0.01, 0.2, 0.01, 0.2]);
  const predict = (pcvr: number[]): Record<string, number> => {
    const p = Float32Array.from(pcvr);
    return evaluatePredictions(data, { pctr: Float32Array.from([0.1, 0.4, 0.1, 0.4]), pcvr: p, pctcvr: p.map((x, i) => x * [0.1, 0.4, 0.1, 0.4][i]!) });
  };

  it('the click-weighted ratio ignores what the rarely clicked impressions are predicted, the flat one does not', () => {
    // Right where clicks happen, 10x too high where they almost never do.
    const m = predict([0.1, 0.2, 0.1, 0.2]);
    expect(m.calibration_cvr_entire_space).toBeCloseTo(0.3 / 0.21, 6);
    expect(m.calibration_cvr_click_weighted).toBeCloseTo((0.001 * 0.1 + 0.5 * 0.2) / (0.001 * 0.01 + 0.5 * 0.2), 6);
    expect(m.calibration_cvr_click_weighted).toBeLessThan(1.001);
  });

  it('both are 1 for the true pCVR, and both see an error where clicks happen', () => {
    const truth = predict([0.01, 0.2, 0.01, 0.2]);
    expect(truth.calibration_cvr_entire_space).toBeCloseTo(1, 6);
    expect(truth.calibration_cvr_click_weighted).toBeCloseTo(1, 6);
    const high = predict([0.01, 0.4, 0.01, 0.4]);
    expect(high.calibration_cvr_click_weighted).toBeGreaterThan(1.9);
  });

  it("pCTCVR's level is read against the true pCTCVR when the data carry it", () => {
    const withCtcvr = chunk([0.001, 0.5], [0.01, 0.2]);
    withCtcvr.truth.set('true_pctcvr', Float32Array.from([0.001 * 0.01, 0.5 * 0.2]));
    const pctcvr = Float32Array.from([0.002 * 0.01, 0.5 * 0.2 * 1.1]); // 10% high where clicks happen
    const m = evaluatePredictions(withCtcvr, { pctr: Float32Array.from([0.002, 0.5]), pcvr: Float32Array.from([0.01, 0.22]), pctcvr });
    expect(m.calibration_ctcvr_entire_space).toBeCloseTo((0.00002 + 0.11) / (0.00001 + 0.1), 5);
    expect(evaluatePredictions(data, { pctr: Float32Array.from([0.1, 0.4, 0.1, 0.4]), pcvr: Float32Array.from([0.01, 0.2, 0.01, 0.2]), pctcvr: Float32Array.from([0.001, 0.08, 0.001, 0.08]) }).calibration_ctcvr_entire_space).toBeUndefined();
  });

  it('is absent without the true click probability', () => {
    const noPctr = chunk([0.001, 0.5], [0.01, 0.2]);
    noPctr.truth.delete('true_pctr');
    const p = Float32Array.from([0.01, 0.2]);
    const m = evaluatePredictions(noPctr, { pctr: Float32Array.from([0.1, 0.4]), pcvr: p, pctcvr: p });
    expect(m.calibration_cvr_entire_space).toBeCloseTo(1, 6);
    expect(m.calibration_cvr_click_weighted).toBeUndefined();
  });
});
