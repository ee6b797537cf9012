/**
 * AITM, ESCM2, the MMoE/PLE bottoms, per-tower settings (FM, layer norm), field-wise pooling and
 * uncertainty weighting: declared as funnels, built into graphs and trained for a few steps.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/api/load-config.js';
import { rowsToRawChunk } from '../../src/data/rows.js';
import { FeatureSpec } from '../../src/features/spec.js';
import { evalProb } from '../../src/models/funnel.js';
import { funnelSpec } from '../../src/models/registry.js';
import { LOG_VARIANCE_PARAM } from '../../src/models/loss-weighting.js';
import { trainFunnel } from '../../src/train/trainer.js';
import { trainAndEvaluate } from '../../src/api/pipeline.js';
import { Rng } from '../../src/util/random.js';
import type { Schema } from '../../src/data/schema.js';

const chainSchema: Schema = { labels: { click: 'click', buy: 'activate', actions: ['apply', 'approve'] }, categorical: ['user', 'item', 'cat'], numeric: ['price'] };

function rows(n: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const u = rng.int(6);
    const it = rng.int(5);
    const click = rng.next() < 0.3 ? 1 : 0;
    const apply = click === 1 && rng.next() < 0.5 ? 1 : 0;
    const approve = apply === 1 && rng.next() < 0.5 + 0.1 * (it % 3) ? 1 : 0;
    const activate = approve === 1 && rng.next() < 0.6 ? 1 : 0;
    return { user: `u${u}`, item: `i${it}`, cat: `c${it % 2}`, price: rng.normal(), click, apply, approve, activate };
  });
}

async function trainFew(model: Record<string, unknown>, steps = 4) {
  const config = parseConfig({
    data: { train: 'unused.csv' },
    schema: chainSchema,
    model: { embedding_dim: 3, tower: [6], ...model },
    train: { batch_size: 32, learning_rate: 0.01, seed: 3, threads: 1, epochs: 1 },
  }, 'test', '.');
  const raw = rowsToRawChunk(rows(128, 5), config.schema);
  const features = FeatureSpec.fit(config.schema, raw);
  return trainFunnel(config, features, features.transform(raw), undefined, { maxSteps: steps });
}

describe('model families', () => {
  it('declares AITM as a chain of entire-space towers linked by information transfer', () => {
    const s = funnelSpec('aitm', chainSchema);
    expect(s.towers.map((t) => t.transferFrom)).toEqual([undefined, 'stage1_click', 'stage2_apply', 'stage3_approve']);
    expect(s.losses.map((l) => [l.name, l.label, l.space])).toEqual([
      ['ctr', 'click', 'impressions'], ['stage2', 'col:apply', 'impressions'], ['stage3', 'col:approve', 'impressions'], ['ctcvr', 'buy', 'impressions'],
    ]);
    expect(s.regularizers?.map((r) => r.kind)).toEqual(['calibrator']);
    // pCVR = y_N / y_1 (each tower is already an entire-space probability).
    const p = { stage1_click: 0.2, stage2_apply: 0.1, stage3_approve: 0.05, stage4_activate: 0.02 };
    expect(evalProb(s.outputs.pctcvr as never, p)).toBeCloseTo(0.02, 12);
  });

  it('declares ESCM2 as ESMM plus a counterfactual CVR risk', () => {
    for (const v of ['ipw', 'dr'] as const) {
      const s = funnelSpec(`escm2_${v}`, chainSchema);
      expect(s.losses.map((l) => l.name)).toEqual(['ctr', 'ctcvr']);
      expect(s.regularizers?.map((r) => r.name)).toEqual([`cvr_${v}`]);
    }
    expect(funnelSpec('escm2_dr', chainSchema).towers.map((t) => t.name)).toContain('imputation');
  });

  it.each([
    ['esmm', 'mmoe'], ['esmm', 'ple'], ['esm2', 'ple'], ['chain', 'mmoe'], ['aitm', 'embedding'], ['aitm', 'ple'], ['escm2_ipw', 'shared_bottom'], ['escm2_dr', 'mmoe'],
  ])('%s with a %s bottom trains with finite losses', async (name, bottom) => {
    const r = await trainFew({ name, bottom: { type: bottom, experts: 2, expert: [4], task_experts: 1, levels: 2 } });
    expect(r.stepLoss).toHaveLength(4);
    expect(r.stepLoss.every(Number.isFinite)).toBe(true);
    const losses = Object.keys(r.history[0]!.train);
    if (name === 'aitm') expect(losses).toContain('calibrator');
    if (name === 'escm2_dr') expect(losses).toEqual(expect.arrayContaining(['cvr_dr', 'imputation']));
  });

  it('takes per-tower types, sizes and layer norm, field groups and learned uncertainty weights', async () => {
    const r = await trainFew({
      name: 'esmm',
      towers: { ctr: { type: 'fm', sizes: [5], norm: 'layer' }, cvr: { type: 'mlp', sizes: [7, 3], activation: 'tanh' } },
      field_groups: { item: ['item', 'cat'] },
      loss_weighting: 'uncertainty',
    }, 6);
    const names = [...r.model.params.keys()];
    expect(names).toEqual(expect.arrayContaining(['tower_ctr/l0/ln/gamma', 'tower_cvr/l1/W', LOG_VARIANCE_PARAM]));
    expect(r.model.params.get('tower_cvr/l1/W')).toHaveLength(7 * 3);
    // Two slots after pooling (user, item+cat) of dim 3, plus one numeric.
    expect(r.model.params.get('tower_ctr/l0/W')).toHaveLength((2 * 3 + 1) * 5);
    expect(Array.from(r.model.params.get(LOG_VARIANCE_PARAM)!).some((s) => s !== 0)).toBe(true);
    const pred = await r.model.predict([{ user: 'u1', item: 'i2', cat: 'c0', price: 0.3 }]);
    expect(pred[0]!.pctcvr).toBeGreaterThan(0);
    await r.model.release();
  });

  it('trains with GradNorm loss weights (test/train/gradnorm.test.ts checks the update)', async () => {
    const r = await trainFew({ name: 'esmm', loss_weighting: 'gradnorm', gradnorm: { alpha: 1, lr: 0.05 } });
    expect(r.stepLoss.every(Number.isFinite)).toBe(true);
    await r.model.release();
  });

  it('AITM learns the simulator chain', async () => {
    const config = loadConfig('aitm', { data: { synth: { rows: 50000, calibrationRows: 20000 } }, train: { epochs: 2, batch_size: 256, learning_rate: 0.003, threads: 1 }, model: { tower: [16, 8], embedding_dim: 8 } });
    expect(config.schema.labels).toEqual({ click: 'click', buy: 'activate', actions: ['apply', 'approve'] });
    const r = await trainAndEvaluate(config);
    expect(r.metrics.auc_ctr).toBeGreaterThan(0.6);
    expect(r.metrics.auc_ctcvr).toBeGreaterThan(0.6); // the last stage, on all impressions
    await r.result.model.release();
  });
});
