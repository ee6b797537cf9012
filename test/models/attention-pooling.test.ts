/**
 * Per-field pooling wired through the embedding feed: DIN target attention over a multi-valued
 * field's per-item embeddings (`seq/<group>/<field>`, `seqmask/<field>`) against the candidate
 * item's embedding, and per-field sum/mean in the gather.
 */
import { describe, expect, it } from 'vitest';
import type { MultiIds } from '../../src/data/batch.js';
import { sliceEncoded } from '../../src/features/encoded-rows.js';
import type { EsmmConfig, ModelConfig } from '../../src/config/types.js';
import { DEFAULT_MODEL, DEFAULT_TRAIN } from '../../src/config/defaults.js';
import { parseConfig } from '../../src/api/load-config.js';
import * as ort from 'onnxruntime-node';
import { exportFeeds } from '../../src/export/index.js';
import { encodeModel } from '../../src/graph/onnx.js';
import { GraphSession, type Feeds } from '../../src/runtime/session.js';
import { buildModelGraph, LOSS_WEIGHTS_INPUT } from '../../src/models/build-graph.js';
import { EmbeddingSet } from '../../src/models/embeddings.js';
import { FeedBuilder } from '../../src/models/feeds.js';
import type { FeatureLayout } from '../../src/models/layout.js';
import { loadModel } from '../../src/models/persist.js';
import { funnelSpec } from '../../src/models/registry.js';
import { exportOnnx } from '../../src/export/index.js';
import { Scorer } from '../../src/serve/scorer.js';
import type { Batch } from '../../src/data/batch-assembler.js';
import { TrainStep } from '../../src/train/step.js';
import { trainTiny } from '../export/fixture.js';

const DIM = 3;
const L = 4;
const layout: FeatureLayout = {
  dim: DIM,
  categorical: [{ name: 'item_category', size: 7 }, { name: 'user', size: 5 }],
  multiValued: [{ name: 'recent', size: 7 }],
  numericDim: 1,
};
const schema = { labels: { click: 'click', buy: 'buy' }, categorical: ['item_category', 'user'], multi_valued: [{ name: 'recent' }], numeric: ['x'] } as EsmmConfig['schema'];
const attention: ModelConfig['pooling'] = { recent: { type: 'attention', target: 'item_category', max_len: L } };
const modelCfg = (pooling: ModelConfig['pooling'] = attention): ModelConfig => ({ ...DEFAULT_MODEL, embedding_dim: DIM, tower: [8], activation: 'tanh', pooling });

/** Rows with 0..6 recent items (row 0 has 6 > L, so its two oldest items fall out of the sequence). */
const recentRows = [[5, 6, 1, 2, 3, 4], [2], [], [3, 3, 1], [1, 2, 4, 2], [6, 2]];
function multi(rows: number[][]): MultiIds {
  const offsets = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => (offsets[i + 1] = offsets[i]! + r.length));
  return { ids: Int32Array.from(rows.flat()), offsets };
}
function batchOf(): Batch {
  const n = recentRows.length;
  return {
    size: n,
    categorical: [Int32Array.from([1, 2, 3, 1, 4, 6]), Int32Array.from([0, 1, 2, 3, 4, 1])],
    multiValued: [multi(recentRows)],
    numeric: Float32Array.from({ length: n }, (_, i) => (i - 2) / 3),
    labels: new Map([['click', Float32Array.from([1, 0, 1, 1, 0, 1])], ['buy', Float32Array.from([1, 0, 0, 1, 0, 0])]]),
  };
}
function config(model: ModelConfig): EsmmConfig {
  return {
    data: {}, schema, features: {}, model,
    train: { ...DEFAULT_TRAIN, batch_size: 8, learning_rate: 0.01, embedding_optimizer: 'sgd', embedding_learning_rate: 0.1, threads: 1, seed: 3 },
    baseDir: '.', source: 'test',
  };
}

describe('attention pooling wired into the model', () => {
  it('adds seq/<group>/<field> and seqmask/<field> inputs and a grad/seq output', () => {
    const mg = buildModelGraph(funnelSpec('esmm', schema), layout, modelCfg(), { training: true, seed: 1 });
    expect(mg.seqInputs).toEqual([{ group: 'shared', field: 'recent', input: 'seq/shared/recent', maskInput: 'seqmask/recent', maxLen: L }]);
    expect(mg.seqGrads).toEqual([{ group: 'shared', field: 'recent', output: 'grad/seq/shared/recent' }]);
    const names = mg.graph.inputs().map((v) => v.name);
    expect(names).toContain('seq/shared/recent');
    expect(names).toContain('seqmask/recent');
    // Default pooling: the layout is unchanged (no sequence inputs).
    const plain = buildModelGraph(funnelSpec('esmm', schema), layout, modelCfg({}), { training: true, seed: 1 });
    expect(plain.seqInputs).toEqual([]);
    expect(plain.graph.inputs().some((v) => v.name.startsWith('seq'))).toBe(false);
  });

  it('gatherSequence keeps the most recent max_len items, zero padded, mask = weight', () => {
    const emb = EmbeddingSet.create(layout, ['shared'], { type: 'sgd', lr: 0.1 }, 2, 'sum', attention);
    const b = batchOf();
    const out = new Float32Array(b.size * L * DIM).fill(9);
    const mask = new Float32Array(b.size * L).fill(9);
    emb.gatherSequence('shared', 'recent', b, L, out, mask);
    expect(Array.from(mask)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0]);
    const table = emb.tables.get('shared')![2]!.denseWeights();
    const row = (id: number): number[] => Array.from(table.subarray(id * DIM, id * DIM + DIM));
    const at = (i: number, l: number): number[] => Array.from(out.subarray((i * L + l) * DIM, (i * L + l + 1) * DIM));
    expect([0, 1, 2, 3].map((l) => at(0, l))).toEqual([1, 2, 3, 4].map(row)); // [5, 6, 1, 2, 3, 4] -> last 4
    expect(at(1, 0)).toEqual(row(2));
    expect(at(1, 1)).toEqual([0, 0, 0]);
    expect(at(2, 0)).toEqual([0, 0, 0]);
    // The attention field's slot in emb_<group> is zeros.
    const gathered = new Float32Array(b.size * 3 * DIM);
    emb.gather('shared', b, gathered);
    for (let i = 0; i < b.size; i++) expect(Array.from(gathered.subarray(i * 3 * DIM + 2 * DIM, (i + 1) * 3 * DIM))).toEqual([0, 0, 0]);
  });

  it('end-to-end loss gradient w.r.t. sequence and target embeddings matches finite differences (float64)', async () => {
    const mg = buildModelGraph(funnelSpec('esmm', schema), layout, modelCfg(), { training: true, seed: 4, dtype: 'float64' });
    const session = await GraphSession.create(encodeModel(mg.graph, { paramsAs: 'inputs', outputs: ['loss', 'grad/seq/shared/recent', 'grad/emb_shared'] }), { intraOpThreads: 1 });
    try {
      const b = batchOf();
      const emb = EmbeddingSet.create(layout, ['shared'], { type: 'sgd', lr: 0.1 }, 2, 'sum', attention);
      const fb = new FeedBuilder(mg, b.size);
      const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
      const f32 = fb.build(b, emb, params, { [LOSS_WEIGHTS_INPUT]: Float32Array.from(mg.lossNames.map(() => 1)) });
      // float64 copies of every feed
      const feeds: Feeds = {};
      for (const [name, v] of Object.entries(f32)) {
        const dims = v instanceof Float32Array ? [v.length] : v.dims;
        const data = v instanceof Float32Array ? v : v.data;
        feeds[name] = { data: Float64Array.from(data), dims };
      }
      const seq = (feeds['seq/shared/recent'] as { data: Float64Array }).data;
      const embIn = (feeds['emb_shared'] as { data: Float64Array }).data;
      const lossAt = async (): Promise<number> => (await session.runTensors(feeds, ['loss'])).loss!.data[0] as number;
      const res = await session.runTensors(feeds, ['loss', 'grad/seq/shared/recent', 'grad/emb_shared']);
      const dSeq = res['grad/seq/shared/recent']!.data as Float64Array;
      const dEmb = res['grad/emb_shared']!.data as Float64Array;
      const fd = async (arr: Float64Array, k: number): Promise<number> => {
        const h = 1e-6;
        const v = arr[k]!;
        arr[k] = v + h;
        const up = await lossAt();
        arr[k] = v - h;
        const down = await lossAt();
        arr[k] = v;
        return (up - down) / (2 * h);
      };
      // Every element of the sequence input of rows 0 and 3 (row 3: one padded position).
      for (const i of [0, 3]) {
        for (let k = i * L * DIM; k < (i + 1) * L * DIM; k++) expect(dSeq[k]!).toBeCloseTo(await fd(seq, k), 8);
      }
      // Padded positions get exactly zero gradient.
      const mask = (feeds['seqmask/recent'] as { data: Float64Array }).data;
      let padded = 0;
      for (let p = 0; p < mask.length; p++) {
        if (mask[p] !== 0) continue;
        padded++;
        for (let d = 0; d < DIM; d++) expect(dSeq[p * DIM + d]).toBe(0);
      }
      expect(padded).toBeGreaterThan(0);
      // The target (item_category, slot 0) gets the attention's query gradient; the attention slot none.
      const width = 3 * DIM;
      for (let k = 0; k < DIM; k++) expect(dEmb[width + k]!).toBeCloseTo(await fd(embIn, width + k), 8);
      for (let i = 0; i < b.size; i++) for (let d = 0; d < DIM; d++) expect(dEmb[i * width + 2 * DIM + d]).toBe(0);
      expect(dSeq.some((x) => Math.abs(x) > 1e-8)).toBe(true);
    } finally {
      await session.release();
    }
  });

  it('the sparse update touches exactly the sequence rows in the batch', async () => {
    const cfg = config(modelCfg());
    const mg = buildModelGraph(funnelSpec('esmm', schema), layout, cfg.model, { training: true, seed: 3 });
    const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
    const emb = EmbeddingSet.create(layout, ['shared'], { type: 'sgd', lr: 0.5 }, 2, 'sum', cfg.model.pooling);
    const step = await TrainStep.create(mg, params, emb, cfg, 8);
    try {
      const before = emb.tables.get('shared')![2]!.denseWeights().slice();
      await step.run(batchOf(), 0);
      const after = emb.tables.get('shared')![2]!.denseWeights();
      // In the sequences: 1, 2, 3, 4, 6 (row 5); 5 only in row 0's truncated part; 0 never.
      const changed = Array.from({ length: 7 }, (_, id) => [0, 1, 2].some((d) => before[id * DIM + d] !== after[id * DIM + d]));
      expect(changed).toEqual([false, true, true, true, true, false, true]);
    } finally {
      await step.release();
    }
  });

  it('per-field sum and mean feed different inputs; the default layout is unchanged', () => {
    const b = batchOf();
    const width = 3 * DIM;
    const gather = (pooling: ModelConfig['pooling']): Float32Array => {
      const e = EmbeddingSet.create(layout, ['shared'], { type: 'sgd', lr: 0.1 }, 2, 'sum', pooling);
      const out = new Float32Array(b.size * width);
      e.gather('shared', b, out);
      return out;
    };
    const def = gather({});
    const sum = gather({ recent: { type: 'sum' } });
    const mean = gather({ recent: { type: 'mean' } });
    expect(sum).toEqual(def);
    // Row 3 has three items: mean = sum / 3 in the recent slot, the other slots are equal.
    const slot = (x: Float32Array, i: number, s: number): number[] => Array.from(x.subarray(i * width + s * DIM, i * width + (s + 1) * DIM));
    expect(slot(mean, 3, 0)).toEqual(slot(sum, 3, 0));
    slot(mean, 3, 2).forEach((v, d) => expect(v).toBeCloseTo(slot(sum, 3, 2)[d]! / 3, 6));
    expect(slot(mean, 3, 2)).not.toEqual(slot(sum, 3, 2));
    // And the graph accepts per-field sum/mean (no sequence inputs).
    const mg = buildModelGraph(funnelSpec('esmm', schema), layout, modelCfg({ recent: { type: 'mean' } }), { training: false, seed: 1 });
    expect(mg.seqInputs).toEqual([]);
  });

  it('trains with attention on recent_categories against item_category, predicts, saves/loads and exports', async () => {
    const maxLen = 5;
    const { dir, run } = await trainTiny('esmm', { pooling: { recent_categories: { type: 'attention', target: 'item_category', max_len: maxLen } } });
    const model = run.result.model;
    expect(model.embeddings.modeOf('recent_categories')).toBe('attention');
    expect([...model.params.keys()].some((k) => k.startsWith('attention_shared/recent_categories/'))).toBe(true);
    expect(run.result.stepLoss.every(Number.isFinite)).toBe(true);
    const chunk = run.features.test ?? run.features.valid ?? run.features.train;
    const p = await model.predictEncoded(chunk);
    expect(p.pctr.length).toBe(chunk.rows);
    expect(p.pctr.every((x) => x > 0 && x < 1)).toBe(true);
    const loaded = await loadModel(dir);
    expect(loaded.embeddings.modeOf('recent_categories')).toBe('attention');
    const q = await loaded.predictEncoded(chunk);
    for (let i = 0; i < chunk.rows; i++) expect(q.pctcvr[i]).toBeCloseTo(p.pctcvr[i]!, 6);
    const scorer = await Scorer.create(loaded);
    try {
      const s = await scorer.predictEncoded(chunk);
      for (let i = 0; i < chunk.rows; i++) expect(s.pctr[i]).toBeCloseTo(p.pctr[i]!, 5);
    } finally {
      await scorer.release();
    }

    // Export: rows with more than max_len items, empty rows and OOV ids (categorical and in the sequence).
    const probe = structuredClone(sliceEncoded(chunk, 0, Math.min(chunk.rows, 200)));
    const m = loaded.layout.multiValued.findIndex((f) => f.name === 'recent_categories');
    const c = loaded.layout.categorical.findIndex((f) => f.name === 'item_category');
    probe.categorical[c]![1] = 0; // OOV target
    for (const col of probe.categorical) col[2] = 0; // everything OOV
    const mv = probe.multiValued[m]!;
    const rows = Array.from({ length: probe.rows }, (_, r) => Array.from(mv.ids.subarray(mv.offsets[r]!, mv.offsets[r + 1]!)));
    rows[3] = [];
    rows[4] = [0];
    rows[5] = [1, 2, 2, 3, 1, 0, 4, 5]; // 8 > max_len: the first three fall out
    rows[6] = [3, 0, 1, 2, 0, 4, 1];
    rows[7] = [];
    const offsets = new Int32Array(probe.rows + 1);
    rows.forEach((ids, r) => (offsets[r + 1] = offsets[r]! + ids.length));
    probe.multiValued[m] = { ids: Int32Array.from(rows.flat()), offsets, ...(mv.weights !== undefined ? { weights: Float32Array.from(rows.flat(), () => 1) } : {}) };
    expect(rows.some((r) => r.length > maxLen) && rows.some((r) => r.length === 0)).toBe(true);

    const expected = await loaded.predictEncoded(probe);
    const exp = exportOnnx(loaded);
    expect(exp.sequences).toEqual({ recent_categories: maxLen });
    const inputs = JSON.parse(exp.metadata.esmm_inputs!) as { name: string; kind: string; shape: (number | string)[] }[];
    expect(inputs.filter((i) => i.kind.startsWith('sequence_'))).toEqual([
      expect.objectContaining({ name: 'seq_recent_categories_ids', kind: 'sequence_ids', shape: ['batch', maxLen] }),
      expect.objectContaining({ name: 'seq_recent_categories_mask', kind: 'sequence_mask', shape: ['batch', maxLen] }),
    ]);
    expect(inputs.some((i) => i.name === 'multi_recent_categories_ids')).toBe(false);
    const session = await ort.InferenceSession.create(exp.onnx);
    try {
      expect([...session.inputNames].sort()).toEqual(inputs.map((i) => i.name).sort());
      const feedsOf = (f: ReturnType<typeof exportFeeds>): Record<string, ort.Tensor> => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, new ort.Tensor(v.data, v.dims)]));
      const feeds = exportFeeds(probe, loaded.layout, exp.sequences);
      const ids = feeds.seq_recent_categories_ids!.data as BigInt64Array;
      const mask = feeds.seq_recent_categories_mask!.data as Float32Array;
      expect(Array.from(ids.subarray(5 * maxLen, 6 * maxLen), Number)).toEqual([3, 1, 0, 4, 5]);
      expect(Array.from(mask.subarray(3 * maxLen, 5 * maxLen))).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
      const result = await session.run(feedsOf(feeds));
      for (const name of loaded.predictionNames) {
        const got = result[name]!.data as Float32Array;
        let worst = 0;
        for (let i = 0; i < probe.rows; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[name]![i]!));
        expect(worst, name).toBeLessThan(1e-6);
        expect(Math.max(...got) - Math.min(...got), 'predictions vary by row').toBeGreaterThan(1e-4);
      }
      // Out-of-range and negative sequence ids read the OOV row, as id 0 does.
      const oov = exportFeeds(probe, loaded.layout, exp.sequences);
      const bad = exportFeeds(probe, loaded.layout, exp.sequences);
      const size = loaded.layout.multiValued[m]!.size;
      const oovIds = oov.seq_recent_categories_ids!.data as BigInt64Array;
      const badIds = bad.seq_recent_categories_ids!.data as BigInt64Array;
      for (let k = 0; k < oovIds.length; k++) {
        oovIds[k] = 0n;
        badIds[k] = k % 2 === 0 ? BigInt(size + 3) : -1n;
      }
      const r1 = await session.run(feedsOf(oov));
      const r2 = await session.run(feedsOf(bad));
      expect(Array.from(r2.pctcvr!.data as Float32Array)).toEqual(Array.from(r1.pctcvr!.data as Float32Array));
    } finally {
      await session.release();
    }
    await model.release();
    await loaded.release();
  }, 120_000);

  it('parses model.pooling.FIELD.max_len (attention only, strict keys)', () => {
    const base = { data: { train: 't.csv' }, schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['item_category'], multi_valued: [{ name: 'recent', separator: '|' }] } };
    const parse = (pooling: unknown) => parseConfig({ ...base, model: { pooling } }, 'test.yaml', '.').model.pooling;
    expect(parse({ recent: { type: 'attention', target: 'item_category', max_len: 8 } })).toEqual({ recent: { type: 'attention', target: 'item_category', max_len: 8 } });
    expect(() => parse({ recent: { type: 'attention', target: 'item_category', max_len: 0 } })).toThrow(/max_len/);
    expect(() => parse({ recent: { type: 'mean', max_len: 4 } })).toThrow(/only attention pooling takes a max_len/);
    expect(() => parse({ recent: { type: 'attention', target: 'item_category', maxlen: 4 } })).toThrow(/maxlen/);
  });

  it('per-field mean pooling trains and exports with the same predictions', async () => {
    const { dir, run } = await trainTiny('esmm', { pooling: { recent_categories: 'mean' } });
    const model = await loadModel(dir);
    expect(model.embeddings.modeOf('recent_categories')).toBe('mean');
    const chunk = run.features.test!;
    const expected = await model.predictEncoded(chunk);
    const exp = exportOnnx(model);
    expect(JSON.parse(exp.metadata.esmm_field_pooling!)).toEqual({ recent_categories: 'mean' });
    const session = await ort.InferenceSession.create(exp.onnx);
    const feeds = Object.fromEntries(Object.entries(exportFeeds(chunk, model.layout)).map(([k, v]) => [k, new ort.Tensor(v.data, v.dims)]));
    const got = (await session.run(feeds)).pctcvr!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < chunk.rows; i++) worst = Math.max(worst, Math.abs(got[i]! - expected.pctcvr[i]!));
    expect(worst).toBeLessThan(1e-6);
    await model.release();
  }, 120_000);
});
