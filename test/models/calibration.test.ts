import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/graph/graph.js';
import { encodeModel } from '../../src/graph/onnx.js';
import { applyCalibrator, applyCalibratorAll, checkCalibration, fitIsotonic, fitPlatt, ISO_EPS, type Calibration } from '../../src/models/calibration/calibrator.js';
import { calibratePredictions } from '../../src/models/calibration/apply.js';
import { calibrationNodes } from '../../src/models/calibration/onnx-nodes.js';
import { Rng } from '../../src/util/random.js';

const sigmoid = (u: number): number => 1 / (1 + Math.exp(-u));

describe('isotonic regression (pool-adjacent-violators)', () => {
  it('pools violators into their weighted mean', () => {
    // 0, 1, 0, 1: the middle pair violates and pools to 0.5.
    // Knots sit at each block's mean score (centred isotonic regression).
    const c = fitIsotonic([1, 2, 3, 4], [0, 1, 0, 1]);
    expect(c.x).toEqual([1, 2.5, 4]);
    expect(c.y).toEqual([Math.fround(ISO_EPS), 0.5, Math.fround(1 - ISO_EPS)]);
    // 1, 0, 1, 0: everything pools into one block at the overall mean.
    const all = fitIsotonic([1, 2, 3, 4], [1, 0, 1, 0]);
    expect(all.x).toEqual([2.5]);
    expect(all.y).toEqual([0.5]);
    // A chain of violations resolved backwards: 3 rows at 0.9, 0.6, 0.3 -> one block at 0.6.
    const chain = fitIsotonic([1, 2, 3], [0.9, 0.6, 0.3]);
    expect(chain.y.map((v) => Number(v.toFixed(6)))).toEqual([0.6]);
    expect(chain.x).toEqual([2]);
  });

  it('gives tied scores one value, and weights count', () => {
    const tie = fitIsotonic([2, 1, 1], [1, 0, 1]);
    expect(tie.x).toEqual([1, 2]);
    expect(tie.y).toEqual([0.5, Math.fround(1 - ISO_EPS)]);
    const weighted = fitIsotonic([1, 2], [1, 0], [3, 1]);
    expect(weighted.y.map((v) => Number(v.toFixed(6)))).toEqual([0.75]);
    expect(weighted.x).toEqual([1.25]); // (3 x 1 + 1 x 2) / 4
  });

  it('interpolates between knots and is flat outside them', () => {
    const c = fitIsotonic([1, 2, 3, 4], [0, 1, 0, 1]);
    expect(applyCalibrator(c, 0)).toBeCloseTo(ISO_EPS, 9);
    expect(applyCalibrator(c, 1.75)).toBeCloseTo((ISO_EPS + 0.5) / 2, 6);
    expect(applyCalibrator(c, 2.5)).toBeCloseTo(0.5, 9);
    expect(applyCalibrator(c, 3)).toBeCloseTo(0.5 + (0.5 - ISO_EPS) / 3, 6);
    expect(applyCalibrator(c, 9)).toBeCloseTo(1 - ISO_EPS, 6);
  });

  it('keeps the mean of the labels (up to the centring) and is non-decreasing on random data', () => {
    const rng = new Rng(3);
    const n = 5000;
    const s = new Float32Array(n);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = Math.fround(rng.next());
      y[i] = rng.next() < s[i]! * s[i]! ? 1 : 0;
    }
    const c = fitIsotonic(s, y);
    const fitted = applyCalibratorAll(c, s);
    let sumF = 0;
    let sumY = 0;
    for (let i = 0; i < n; i++) {
      sumF += fitted[i]!;
      sumY += y[i]!;
    }
    expect(Math.abs(sumF - sumY) / n).toBeLessThan(0.005);
    for (let k = 1; k < c.y.length; k++) expect(c.y[k]!).toBeGreaterThanOrEqual(c.y[k - 1]!);
  });
});

describe('Platt scaling', () => {
  it('recovers a known logistic distortion', () => {
    const rng = new Rng(7);
    const n = 40000;
    const p = new Float32Array(n);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const z = rng.normal() * 1.5;
      p[i] = sigmoid(z);
      y[i] = rng.next() < sigmoid(0.5 * z - 1) ? 1 : 0;
    }
    const c = fitPlatt(p, y);
    expect(c.a).toBeCloseTo(0.5, 1);
    expect(c.b).toBeCloseTo(-1, 1);
  });

  it('stays finite on separable data and orders the classes', () => {
    const p = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9];
    const y = [0, 0, 0, 0, 1, 1, 1, 1];
    const c = fitPlatt(p, y);
    expect(Number.isFinite(c.a) && Number.isFinite(c.b)).toBe(true);
    expect(c.a).toBeGreaterThan(1);
    // Platt's smoothed targets: no output reaches 0 or 1, positives above negatives.
    const out = p.map((v) => applyCalibrator(c, v));
    for (let i = 0; i < 4; i++) expect(out[i]!).toBeLessThan(0.5);
    for (let i = 4; i < 8; i++) expect(out[i]!).toBeGreaterThan(0.5);
    expect(Math.max(...out)).toBeLessThan(1 - 1e-4);
    expect(Math.min(...out)).toBeGreaterThan(1e-4);
  });
});

describe('calibrated predictions', () => {
  const cal = (method: 'platt' | 'isotonic'): Calibration => {
    const rng = new Rng(11);
    const n = 3000;
    const ctr = new Float32Array(n);
    const ctcvr = new Float32Array(n);
    const click = new Float32Array(n);
    const buy = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      ctr[i] = Math.fround(0.02 + 0.3 * rng.next());
      ctcvr[i] = Math.fround(ctr[i]! * 0.2 * rng.next());
      click[i] = rng.next() < ctr[i]! * 0.7 ? 1 : 0;
      buy[i] = click[i] === 1 && rng.next() < 0.3 ? 1 : 0;
    }
    const fit = method === 'platt' ? fitPlatt : fitIsotonic;
    return { method, pctr: fit(ctr, click), pctcvr: fit(ctcvr, buy), fitted_on: { rows: n, split: 'test' } };
  };

  it('derives pCVR as the clipped ratio, keeping pCTCVR = pCTR x pCVR', () => {
    const c = cal('isotonic');
    const pred = { pctr: Float32Array.of(0.05, 0.2, 0.001), pcvr: Float32Array.of(0.5, 0.5, 0.5), pctcvr: Float32Array.of(0.001, 0.05, 0.0009) };
    const out = calibratePredictions(pred, c);
    for (let i = 0; i < 3; i++) {
      expect(out.pcvr[i]!).toBeGreaterThanOrEqual(0);
      expect(out.pcvr[i]!).toBeLessThanOrEqual(1);
      expect(out.pctcvr[i]!).toBeCloseTo(out.pctr[i]! * out.pcvr[i]!, 7);
      expect(out.pctr[i]!).toBeCloseTo(applyCalibrator(c.pctr, pred.pctr[i]!), 7);
    }
  });

  for (const method of ['platt', 'isotonic'] as const) {
    it(`${method}: the ONNX nodes compute what TypeScript computes (1e-6)`, async () => {
      const c = cal(method);
      const g = new Graph('calib');
      const pctr = g.input('pctr_in', ['batch', 1]);
      const pctcvr = g.input('pctcvr_in', ['batch', 1]);
      const out = calibrationNodes(g, { pctr, pctcvr }, c);
      for (const k of ['pctr', 'pcvr', 'pctcvr'] as const) g.output(k, out[k]);
      const session = await ort.InferenceSession.create(encodeModel(g, { paramsAs: 'initializers' }));
      // Edge values, knots themselves, and random probabilities.
      const rng = new Rng(5);
      const edges = [0, 1, 1e-9, 1 - 1e-7, ...(c.pctr.kind === 'isotonic' ? c.pctr.x.slice(0, 50) : [])];
      const n = 2000 + edges.length;
      const a = new Float32Array(n);
      const b = new Float32Array(n);
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        a[i] = i < edges.length ? edges[i]! : Math.fround(0.4 * rng.next());
        v[i] = i < edges.length ? edges[edges.length - 1 - i]! : Math.fround(rng.next() * (i % 7 === 0 ? 1 : 0.2));
        b[i] = Math.fround(a[i]! * rng.next() * (i % 7 === 0 ? 2 : 0.2));
      }
      const feeds = { pctr_in: new ort.Tensor('float32', a, [n, 1]), pctcvr_in: new ort.Tensor('float32', b, [n, 1]), pcvr_in: new ort.Tensor('float32', v, [n, 1]) };
      const used = Object.fromEntries(Object.entries(feeds).filter(([k]) => session.inputNames.includes(k)));
      const got = await session.run(used);
      const want = calibratePredictions({ pctr: a, pcvr: v, pctcvr: b }, c);
      for (const k of ['pctr', 'pcvr', 'pctcvr'] as const) {
        const v = got[k]!.data as Float32Array;
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(v[i]! - want[k][i]!));
        expect(worst, `${method} ${k}`).toBeLessThan(1e-6);
      }
      await session.release();
    });
  }

  it('refuses a malformed calibration file', () => {
    expect(() => checkCalibration({ method: 'isotonic', pctr: { kind: 'isotonic', x: [2, 1], y: [0, 1] }, pctcvr: { kind: 'platt', a: 1, b: 0 } }, 'calibration.json')).toThrow(/strictly increasing/);
    expect(() => checkCalibration({ method: 'sigmoid' }, 'calibration.json')).toThrow(/unknown calibration method/);
  });
});
