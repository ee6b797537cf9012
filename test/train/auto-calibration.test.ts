import { describe, expect, it } from 'vitest';
import { AUTO_CALIBRATION_MIN_BUYS, calibrateModel } from '../../src/api/calibrate-model.js';
import type { PreparedFeatures } from '../../src/api/prepare-features.js';
import type { EsmmConfig } from '../../src/config/types.js';
import type { EncodedChunk } from '../../src/data/batch.js';
import type { FunnelModel, Predictions } from '../../src/models/model.js';
import { Rng } from '../../src/util/random.js';

/** A validation split of `rows` impressions holding exactly `buys` buys, and a model's scores on it (pCVR twice too high). */
function split(rows: number, buys: number, seed: number): { chunk: EncodedChunk; pred: Predictions } {
  const rng = new Rng(seed);
  const click = new Float32Array(rows);
  const buy = new Float32Array(rows);
  const pctr = new Float32Array(rows);
  const pcvr = new Float32Array(rows);
  const pctcvr = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    pctr[i] = Math.fround(0.02 + 0.1 * rng.next());
    pcvr[i] = Math.fround(0.1 + 0.4 * rng.next());
    pctcvr[i] = Math.fround(pctr[i]! * pcvr[i]!);
    click[i] = rng.next() < pctr[i]! ? 1 : 0;
  }
  // The first `buys` clicked rows buy.
  for (let i = 0, left = buys; i < rows && left > 0; i++) if (click[i] === 1) { buy[i] = 1; left--; }
  const chunk: EncodedChunk = { rows, categorical: [], multiValued: [], numeric: new Float32Array(0), labels: { click, buy, actions: new Map() }, truth: new Map() };
  return { chunk, pred: { pctr, pcvr, pctcvr } };
}

/** calibrateModel needs only these of a model: a stand-in that scores every chunk with fixed predictions. */
function stubModel(pred: Predictions): FunnelModel {
  const model = { calibration: undefined as unknown, predictUncalibrated: async () => pred };
  // The stub has just the members calibrateModel touches; a real FunnelModel needs an ORT session.
  return model as unknown as FunnelModel;
}

async function calibrate(calibration: EsmmConfig['train']['calibration'], buys: number): Promise<{ model: FunnelModel; out: Record<string, unknown>; log: string[] }> {
  const { chunk, pred } = split(40_000, buys, 7);
  const clicks = chunk.labels.click.reduce((s, c) => s + c, 0);
  expect(clicks).toBeGreaterThan(buys); // enough clicked rows to hold the buys
  const model = stubModel(pred);
  // Only train.calibration is read; the rest of the config does not matter here.
  const config = { train: { ...(calibration !== undefined ? { calibration } : {}) } } as unknown as EsmmConfig;
  const features = { valid: chunk } as unknown as PreparedFeatures;
  const log: string[] = [];
  const out = (await calibrateModel(model, config, features, 'valid', chunk, (l) => log.push(l))) as Record<string, unknown>;
  return { model, out, log };
}

describe("train.calibration 'auto' (the default)", () => {
  it(`calibrates nothing, and says why, when validation holds fewer than ${AUTO_CALIBRATION_MIN_BUYS} buys`, async () => {
    const { model, out, log } = await calibrate(undefined, AUTO_CALIBRATION_MIN_BUYS - 1);
    expect(model.calibration).toBeUndefined();
    expect(out.calibration).toMatchObject({ method: 'auto', applied: 'none' });
    expect(log.join('\n')).toMatch(new RegExp(`holds ${AUTO_CALIBRATION_MIN_BUYS - 1} buys, under the ${AUTO_CALIBRATION_MIN_BUYS}`));
  });

  it('fits Platt through the product when validation holds enough buys', async () => {
    const { model, out, log } = await calibrate(undefined, AUTO_CALIBRATION_MIN_BUYS);
    expect(model.calibration).toMatchObject({ method: 'platt', form: 'product' });
    expect(out.calibration).toMatchObject({ method: 'auto', applied: 'platt', form: 'product' });
    expect(out.metrics_uncalibrated).toBeDefined();
    expect(log.join('\n')).toMatch(/calibration: auto, so platt fitted on 40000 validation rows with 200 buys/);
  });

  it("'none' never calibrates and an explicit method calibrates even on few buys", async () => {
    const none = await calibrate('none', 1000);
    expect(none.model.calibration).toBeUndefined();
    expect(none.out).toEqual({});
    const forced = await calibrate('isotonic', 50);
    expect(forced.model.calibration).toMatchObject({ method: 'isotonic' });
    expect(forced.out.calibration).toMatchObject({ method: 'isotonic' });
  });
});
