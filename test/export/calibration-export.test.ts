import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { loadConfig } from '../../src/api/load-config.js';
import { trainAndEvaluate } from '../../src/api/pipeline.js';
import { loadModel, saveModel } from '../../src/models/persist.js';
import { applyCalibrator, RATIO_FLOOR, type Calibration, type ProductCalibration } from '../../src/models/calibration/calibrator.js';
import { fitCalibration } from '../../src/models/calibration/fit.js';
import { auc } from '../../src/metrics/auc.js';
import type { FunnelModel, Predictions } from '../../src/models/model.js';
import type { EncodedChunk } from '../../src/data/batch.js';
import { exportFeeds, exportSequences, writeExport } from '../../src/export/index.js';
import { Scorer } from '../../src/serve/scorer.js';
import { sliceEncoded } from '../../src/features/encoded-rows.js';

async function trainCalibrated(name: string, method: 'platt' | 'isotonic', model: Record<string, unknown> = {}): Promise<{ dir: string; run: Awaited<ReturnType<typeof trainAndEvaluate>>; logs: string[] }> {
  const dir = join(mkdtempSync(join(tmpdir(), `esmm-calib-${name}-`)), 'model');
  const config = loadConfig(name, {
    // Trained enough for pCTR to sit near the base rate (an untrained model's Platt slopes are far
    // from 1 and amplify 1-ulp differences between sessions).
    data: { synth: { rows: 8000, seed: 9 } },
    train: { epochs: 2, batch_size: 256, learning_rate: 0.005, threads: 1, calibration: method },
    model: { tower: [16, 8], embedding_dim: 4, ...model },
  });
  const logs: string[] = [];
  return { dir, run: await trainAndEvaluate(config, { outDir: dir, log: (l) => logs.push(l) }), logs };
}

/** `esmm export`'s ONNX file gives `want` on `chunk` (1e-6). */
async function expectExportAgrees(model: FunnelModel, chunk: EncodedChunk, want: Predictions): Promise<void> {
  const out = join(mkdtempSync(join(tmpdir(), 'esmm-calib-export-')), 'model.onnx');
  writeExport(model, out);
  const session = await ort.InferenceSession.create(readFileSync(out));
  const feeds = Object.fromEntries(Object.entries(exportFeeds(chunk, model.layout, exportSequences(model))).map(([k, v]) => [k, new ort.Tensor(v.data, v.dims)]));
  const exported = await session.run(feeds);
  for (const p of model.predictionNames) {
    const e = exported[p]!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < chunk.rows; i++) worst = Math.max(worst, Math.abs(e[i]! - want[p]![i]!));
    expect(worst, `export ${p}`).toBeLessThan(1e-6);
  }
  await session.release();
}

describe('calibration saved with the model and applied everywhere', () => {
  // The interaction layers (DCN-v2 bottom and tower, inner-product term) export as well.
  const interactions = {
    bottom: { type: 'dcn', cross_layers: 2 },
    towers: { cvr: { type: 'dcn', cross_layers: 1 } },
    inner_product: { user: ['user_id', 'user_segment'], item: ['item_id', 'item_category'] },
  };
  const cases = [['esmm', 'isotonic', {}], ['esm2', 'platt', {}], ['esmm', 'platt', interactions], ['esm2', 'isotonic', interactions]] as const;
  for (const [name, method, arch] of cases) {
    it(`${name} + ${method}${arch === interactions ? ' + DCN/inner product' : ''}: save/load, Scorer and esmm export agree with predict (1e-6)`, async () => {
      const { dir, run, logs } = await trainCalibrated(name, method, arch);
      // The log names the buys the level was fitted on, and how uncertain that leaves it when they are few.
      const buys = run.features.valid!.labels.buy.reduce((a, b) => a + b, 0);
      expect(buys).toBeLessThan(100);
      expect(logs.find((l) => l.startsWith('calibration:'))).toMatch(new RegExp(`^calibration: ${method} fitted on \\d+ validation rows with ${buys} buys \\(pctr .*; with ${buys} buys its level is uncertain by about \\d+%`));
      const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { calibration?: string; checksums: Record<string, string> };
      expect(manifest.calibration).toBe('calibration.json');
      expect(manifest.checksums['calibration.json']).toMatch(/^[0-9a-f]{64}$/);
      const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { calibration?: { method: string }; metrics_uncalibrated?: Record<string, number>; metrics: Record<string, number> };
      expect(metrics.calibration?.method).toBe(method);
      expect(metrics.metrics.calibration_cvr_entire_space).toBeGreaterThan(0);
      expect(metrics.metrics_uncalibrated?.calibration_cvr_entire_space).toBeGreaterThan(0);

      // The product form: pCTR's and pCVR's calibrators, recorded as such.
      const file = JSON.parse(readFileSync(join(dir, 'calibration.json'), 'utf8')) as { form?: string; pcvr?: { kind: string }; pctcvr?: unknown };
      expect(file.form).toBe('product');
      expect(file.pcvr?.kind).toBe(method);
      expect(file.pctcvr).toBeUndefined();
      expect((metrics.calibration as { form?: string } | undefined)?.form).toBe('product');

      const model = await loadModel(dir);
      expect(model.calibration?.method).toBe(method);
      expect(model.calibration?.form).toBe('product');
      const chunk = sliceEncoded(run.features.test!, 0, 400);
      const calibrated = await model.predictEncoded(chunk);
      const raw = await model.predictUncalibrated(chunk);
      // The calibration is applied: outputs move, and pCTCVR = pCTR x pCVR still holds.
      let moved = 0;
      let movedCvr = 0;
      for (let i = 0; i < chunk.rows; i++) {
        moved = Math.max(moved, Math.abs(calibrated.pctr[i]! - raw.pctr[i]!));
        movedCvr = Math.max(movedCvr, Math.abs(calibrated.pcvr[i]! - raw.pcvr[i]!));
        // pCVR through its own calibrator, pCTCVR their float32 product.
        expect(calibrated.pcvr[i]).toBe(applyCalibrator((model.calibration as ProductCalibration).pcvr, raw.pcvr[i]!));
        expect(calibrated.pctcvr[i]).toBe(Math.fround(calibrated.pctr[i]! * calibrated.pcvr[i]!));
      }
      expect(moved).toBeGreaterThan(1e-4);
      expect(movedCvr).toBeGreaterThan(1e-4);
      // Monotone: rows in the model's pCVR order keep that order (isotonic may tie rows, between
      // and beyond its knots, which moves an AUC by however many rows a step holds; Platt, strictly
      // increasing, ranks exactly as the model did).
      const order = Array.from(raw.pcvr, (_, i) => i).sort((a, b) => raw.pcvr[a]! - raw.pcvr[b]!);
      for (let k = 1; k < order.length; k++) expect(calibrated.pcvr[order[k]!]!).toBeGreaterThanOrEqual(calibrated.pcvr[order[k - 1]!]!);
      const cvrAuc = (p: Predictions): number => auc(chunk.truth.get('potential_buy')!, p.pcvr);
      if (method === 'platt') expect(Math.abs(cvrAuc(calibrated) - cvrAuc(raw))).toBeLessThan(1e-6);
      if (name === 'esm2') expect(Array.from(calibrated.paction!)).toEqual(Array.from(raw.paction!));
      // Same predictions as the model that was trained (save/load round trip).
      const before = await run.result.model.predictEncoded(chunk);
      expect(Array.from(calibrated.pcvr)).toEqual(Array.from(before.pcvr));

      const scorer = await Scorer.create(model);
      const served = await scorer.predictEncoded(chunk);
      for (const p of model.predictionNames) {
        let worstServe = 0;
        for (let i = 0; i < chunk.rows; i++) worstServe = Math.max(worstServe, Math.abs(served[p]![i]! - calibrated[p]![i]!));
        expect(worstServe, `serve ${p}`).toBeLessThan(1e-6);
      }
      await expectExportAgrees(model, chunk, calibrated);
      await scorer.release();
      await model.release();
      await run.result.model.release();
    }, 120_000);
  }

  it('a model saved with the first calibration form (pCVR = pCTCVR\' / pCTR\', no `form` in the file) loads, predicts and exports as that form', async () => {
    const { run } = await trainCalibrated('esmm', 'isotonic');
    const trained = run.result.model;
    const valid = run.features.valid!;
    // What the first version fitted and wrote: { method, pctr, pctcvr, fitted_on }, no `form`.
    const fitted = fitCalibration('isotonic', valid, await trained.predictUncalibrated(valid), 'valid', 'ratio');
    if (fitted.form !== 'ratio') throw new Error('expected the ratio form');
    const { form: _form, ...old } = fitted;
    // The old file's shape on purpose (saveModel writes the object as it is).
    trained.calibration = old as unknown as Calibration;
    const dir = join(mkdtempSync(join(tmpdir(), 'esmm-calib-old-')), 'model');
    await saveModel(trained, dir);
    expect(JSON.parse(readFileSync(join(dir, 'calibration.json'), 'utf8')).form).toBeUndefined();
    const model = await loadModel(dir);
    expect(model.calibration?.form).toBe('ratio');
    const chunk = sliceEncoded(run.features.test!, 0, 400);
    const raw = await model.predictUncalibrated(chunk);
    const got = await model.predictEncoded(chunk);
    for (let i = 0; i < chunk.rows; i++) {
      const ctr = applyCalibrator(old.pctr, raw.pctr[i]!);
      const ratio = Math.fround(Math.min(1, Math.fround(applyCalibrator(old.pctcvr, raw.pctcvr[i]!) / Math.max(ctr, Math.fround(RATIO_FLOOR)))));
      expect(got.pctr[i]).toBe(ctr);
      expect(got.pcvr[i]).toBe(ratio);
      expect(got.pctcvr[i]).toBe(Math.fround(ctr * ratio));
    }
    await expectExportAgrees(model, chunk, got);
    await model.release();
    await trained.release();
  }, 120_000);

  it('a tampered calibration file is refused by its checksum', async () => {
    const { dir, run } = await trainCalibrated('esmm', 'platt');
    await run.result.model.release();
    const file = join(dir, 'calibration.json');
    expect(existsSync(file)).toBe(true);
    const c = JSON.parse(readFileSync(file, 'utf8')) as { pctr: { a: number } };
    c.pctr.a += 1;
    writeFileSync(file, JSON.stringify(c));
    await expect(loadModel(dir)).rejects.toThrow(/checksum mismatch/);
  }, 120_000);
});
