import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { loadModel } from '../../src/models/persist.js';
import { exportFeeds, exportOnnx, exportSequences, writeExport } from '../../src/export/index.js';
import type { EncodedChunk } from '../../src/data/batch.js';
import { sliceEncoded } from '../../src/features/encoded-rows.js';
import { trainTiny } from './fixture.js';

/** Rows of the test split with OOV ids, empty multi-valued cells and out-of-range ids mixed in. */
function probeChunk(test: EncodedChunk): EncodedChunk {
  const chunk = structuredClone(sliceEncoded(test, 0, 300));
  chunk.categorical[0]![0] = 0; // OOV user
  chunk.categorical[1]![1] = 0; // OOV item
  for (const c of chunk.categorical) c[2] = 0; // everything OOV
  // Multi-valued cells: row 3 empty, row 4 one OOV item, row 5 a long list with repeats.
  chunk.multiValued = chunk.multiValued.map((m) => {
    const rows = Array.from({ length: chunk.rows }, (_, r) => Array.from(m.ids.subarray(m.offsets[r]!, m.offsets[r + 1]!)));
    rows[3] = [];
    rows[4] = [0];
    rows[5] = [1, 2, 2, 3, 1, 0, 4, 5];
    const offsets = new Int32Array(chunk.rows + 1);
    rows.forEach((ids, r) => (offsets[r + 1] = offsets[r]! + ids.length));
    return { ids: Int32Array.from(rows.flat()), offsets };
  });
  return chunk;
}

async function check(name: string, overrides: Record<string, unknown> = {}): Promise<void> {
  const { dir, run } = await trainTiny(name, overrides);
  const model = await loadModel(dir);
  expect(model.layout.multiValued.length).toBeGreaterThan(0);
  const chunk = probeChunk(run.features.test!);
  const mv = chunk.multiValued[0]!;
  const lengths = Array.from({ length: chunk.rows }, (_, r) => mv.offsets[r + 1]! - mv.offsets[r]!);
  expect(lengths.some((l) => l === 0)).toBe(true); // empty cells are covered
  expect(lengths.some((l) => l > 1)).toBe(true);

  const expected = await model.predictEncoded(chunk);
  const sequences = exportSequences(model);
  const out = join(mkdtempSync(join(tmpdir(), 'esmm-export-')), 'model.onnx');
  const { files } = writeExport(model, out, { splitFeatures: true });
  expect(existsSync(join(out, '..', 'model.features.json'))).toBe(true);
  expect(files).toHaveLength(2);
  const session = await ort.InferenceSession.create(readFileSync(out));
  const feeds = Object.fromEntries(Object.entries(exportFeeds(chunk, model.layout, sequences)).map(([k, v]) => [k, new ort.Tensor(v.data, v.dims)]));
  const result = await session.run(feeds);
  expect(Object.keys(result).sort()).toEqual([...model.predictionNames].sort());
  for (const p of model.predictionNames) {
    const got = result[p]!.data as Float32Array;
    expect(result[p]!.dims).toEqual([chunk.rows, 1]);
    let worst = 0;
    for (let i = 0; i < chunk.rows; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[p]![i]!));
    expect(worst, `${model.spec.name} ${p}`).toBeLessThan(1e-6);
    expect(Math.max(...got) - Math.min(...got), 'predictions vary by row').toBeGreaterThan(1e-4);
  }

  // Out-of-range and negative ids read the OOV row, as id 0 does.
  const oov = exportFeeds(chunk, model.layout, sequences);
  const bad = exportFeeds(chunk, model.layout, sequences);
  const catName = `cat_${model.layout.categorical[0]!.name}`;
  (oov[catName]!.data as BigInt64Array).fill(0n);
  (bad[catName]!.data as BigInt64Array).fill(BigInt(model.layout.categorical[0]!.size + 7));
  (bad[catName]!.data as BigInt64Array)[0] = -1n;
  const run1 = await session.run(Object.fromEntries(Object.entries(oov).map(([k, v]) => [k, new ort.Tensor(v.data, v.dims)])));
  const run2 = await session.run(Object.fromEntries(Object.entries(bad).map(([k, v]) => [k, new ort.Tensor(v.data, v.dims)])));
  expect(Array.from(run2.pctr!.data as Float32Array)).toEqual(Array.from(run1.pctr!.data as Float32Array));

  // metadata_props document inputs and the FeatureSpec.
  const meta = exportOnnx(model, { embedFeatureSpec: true }).metadata;
  expect(meta.esmm_model).toBe(model.spec.name);
  const inputs = JSON.parse(meta.esmm_inputs!) as { name: string }[];
  expect(inputs.map((i) => i.name).sort()).toEqual([...session.inputNames].sort());
  expect(JSON.parse(meta.esmm_feature_spec!).schema).toEqual(model.features.schema);
  await session.release();
  await model.release();
}

describe('esmm export', () => {
  it('matches predictEncoded for esmm (sum pooling), OOV ids and multi-valued fields', async () => {
    await check('esmm');
  });
  it('matches predictEncoded for esm2 (mean pooling) with paction', async () => {
    await check('esm2', { multi_valued_pooling: 'mean' });
  });
  it('matches predictEncoded for esmm_ns (one embedding group per tower)', async () => {
    await check('esmm_ns');
  });
  it.each(['division', 'naive_cvr', 'aitm', 'escm2_dr'])('matches predictEncoded for %s', async (name) => {
    await check('esm2', { name });
  });
  const attention = { pooling: { recent_categories: { type: 'attention', target: 'item_category', max_len: 3 } } };
  it('matches predictEncoded for esmm_ns with attention pooling (sequence inputs per group)', async () => {
    await check('esmm_ns', attention);
  });
  it('matches predictEncoded for esm2 with attention pooling (paction, mean default)', async () => {
    await check('esm2', { multi_valued_pooling: 'mean', ...attention });
  });
  it('matches predictEncoded with an mmoe bottom', async () => {
    await check('esm2', { bottom: { type: 'mmoe', experts: 2, expert: [8] } });
  });
});
