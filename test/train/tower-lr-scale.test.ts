/**
 * model.towers.NAME.lr_scale (issue 17): the named tower's dense parameters take steps that many
 * times the learning rate, in the in-graph Adam, the JavaScript Adam and SGD; every other
 * parameter steps as before; and the gradient the tower sends into the shared embeddings is
 * scaled by it too. A misspelt tower or key, or a scale out of range, is one config
 * error naming the key, and the data-parallel step refuses the setting instead of ignoring it.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EncodedChunk } from '../../src/data/batch.js';
import type { EsmmConfig } from '../../src/config/types.js';
import { DEFAULT_MODEL, DEFAULT_TRAIN } from '../../src/config/defaults.js';
import { loadConfig } from '../../src/api/load-config.js';
import { UserError } from '../../src/errors.js';
import { buildModelGraph } from '../../src/models/build-graph.js';
import { EmbeddingSet } from '../../src/models/embeddings.js';
import type { FeatureLayout } from '../../src/models/layout.js';
import { funnelSpec } from '../../src/models/registry.js';
import { BatchAssembler } from '../../src/data/batch-assembler.js';
import { TrainStep } from '../../src/train/step.js';
import { parallelUnsupported } from '../../src/train/parallel/unsupported.js';
import { describeOptimizers } from '../../src/api/describe-training.js';
import { Rng } from '../../src/util/random.js';
import { runCli, tempDir } from '../cli/helpers.js';

const ROWS = 64;
const layout: FeatureLayout = {
  dim: 4,
  categorical: Array.from({ length: 3 }, (_, f) => ({ name: `f${f}`, size: 10 })),
  multiValued: [],
  numericDim: 1,
};

function data(): EncodedChunk {
  const rng = new Rng(11);
  const categorical = Array.from({ length: 3 }, () => Int32Array.from({ length: ROWS }, () => rng.int(10)));
  const click = Float32Array.from({ length: ROWS }, (_, i) => (rng.next() < 0.3 + 0.05 * (categorical[0]![i]! % 4) ? 1 : 0));
  const buy = Float32Array.from(click, (c, i) => (c === 1 && rng.next() < 0.3 + 0.1 * (categorical[1]![i]! % 3) ? 1 : 0));
  const numeric = Float32Array.from({ length: ROWS }, () => rng.normal());
  return { rows: ROWS, categorical, multiValued: [], numeric, labels: { click, buy, actions: new Map() }, truth: new Map() };
}

function config(model: string, train: Partial<EsmmConfig['train']>, cvrScale: number | undefined, ctrScale?: number): EsmmConfig {
  return {
    data: {},
    schema: { labels: { click: 'click', buy: 'buy' }, categorical: layout.categorical.map((f) => f.name), numeric: ['x'] },
    features: {},
    model: {
      ...DEFAULT_MODEL, name: model, embedding_dim: layout.dim, tower: [8, 4],
      towers: {
        ...(cvrScale === undefined ? {} : { cvr: { type: 'mlp', lr_scale: cvrScale } }),
        ...(ctrScale === undefined ? {} : { ctr: { type: 'mlp', lr_scale: ctrScale } }),
      },
    },
    train: { ...DEFAULT_TRAIN, batch_size: ROWS, learning_rate: 0.01, embedding_optimizer: 'sgd', embedding_learning_rate: 0.05, threads: 1, seed: 3, ...train },
    baseDir: '.',
    source: 'test',
  };
}

/** Each dense parameter's change over one step from the same initial weights on the same batch. */
async function oneStepDeltas(model: string, train: Partial<EsmmConfig['train']>, cvrScale: number | undefined, ctrScale?: number): Promise<{ step: TrainStep; deltas: Map<string, Float64Array>; embeddingDeltas: Float64Array[] }> {
  const cfg = config(model, train, cvrScale, ctrScale);
  const mg = buildModelGraph(funnelSpec(model, cfg.schema), layout, cfg.model, { training: true, seed: cfg.train.seed });
  const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
  const before = new Map([...params].map(([k, v]) => [k, Float64Array.from(v)]));
  const embeddings = EmbeddingSet.create(layout, ['shared'], { type: 'sgd', lr: 0.05 }, 3, 'sum');
  const tables = (): Float32Array[] => [...embeddings.tables.values()].flat().map((t) => t.denseWeights());
  const embBefore = tables();
  const step = await TrainStep.create(mg, params, embeddings, cfg, ROWS);
  await step.run(new BatchAssembler(data(), ROWS, mg.labelInputs.map((l) => l.key)).assemble(0, ROWS));
  const deltas = new Map([...params].map(([k, v]) => [k, Float64Array.from(v, (x, i) => x - before.get(k)![i]!)]));
  const embeddingDeltas = tables().map((t, k) => Float64Array.from(t, (x, i) => x - embBefore[k]![i]!));
  await step.release();
  return { step, deltas, embeddingDeltas };
}

describe('model.towers.NAME.lr_scale', () => {
  for (const [name, train, inGraph] of [
    ['in-graph adam', { optimizer: 'adam' }, true],
    ['in-graph adamw', { optimizer: 'adamw', weight_decay: 0.1 }, true],
    ['JavaScript adam', { optimizer: 'adam', clip_norm: 1e9 }, false],
    ['sgd', { optimizer: 'sgd' }, false],
  ] as const) {
    it(`${name}: the cvr tower's parameters move 0.25 times as far, the others as before (escm2_ipw)`, async () => {
      const plain = await oneStepDeltas('escm2_ipw', train, undefined);
      const scaled = await oneStepDeltas('escm2_ipw', train, 0.25);
      expect(plain.step.denseInGraph).toBe(inGraph);
      expect(scaled.step.denseInGraph).toBe(inGraph);
      let cvrParams = 0;
      let otherParams = 0;
      for (const [p, d] of plain.deltas) {
        const s = scaled.deltas.get(p)!;
        const norm = Math.hypot(...d);
        expect(norm).toBeGreaterThan(0); // every dense parameter moved, so the ratio means something
        const ratio = Math.hypot(...s) / norm;
        if (p.startsWith('tower_cvr/')) {
          cvrParams++;
          expect({ p, ratio }).toEqual({ p, ratio: expect.closeTo(0.25, 3) });
        } else {
          otherParams++;
          expect({ p, ratio }).toEqual({ p, ratio: expect.closeTo(1, 4) });
        }
      }
      expect(cvrParams).toBeGreaterThanOrEqual(6); // two hidden layers and the head, W and b each
      expect(otherParams).toBeGreaterThanOrEqual(6);
    });
  }

  it('the gradient into the shared embeddings is scaled too (both towers at 0.25: SGD embedding steps 0.25 as far)', async () => {
    const plain = await oneStepDeltas('esmm', { optimizer: 'adam' }, undefined);
    const scaled = await oneStepDeltas('esmm', { optimizer: 'adam' }, 0.25, 0.25);
    expect(plain.embeddingDeltas.length).toBeGreaterThan(0);
    plain.embeddingDeltas.forEach((d, k) => {
      const norm = Math.hypot(...d);
      expect(norm).toBeGreaterThan(0);
      expect(Math.hypot(...scaled.embeddingDeltas[k]!) / norm).toBeCloseTo(0.25, 3);
    });
    // One tower only: the embeddings still move, by less than with neither scaled.
    const cvrOnly = await oneStepDeltas('esmm', { optimizer: 'adam' }, 0.25);
    const r = Math.hypot(...cvrOnly.embeddingDeltas[0]!) / Math.hypot(...plain.embeddingDeltas[0]!);
    expect(r).toBeGreaterThan(0.25);
    expect(r).toBeLessThan(0.999);
  });

  it('a scale of 1 leaves training exactly as without it', async () => {
    const plain = await oneStepDeltas('esmm', { optimizer: 'adam' }, undefined);
    const one = await oneStepDeltas('esmm', { optimizer: 'adam' }, 1);
    for (const [p, d] of plain.deltas) expect(Array.from(one.deltas.get(p)!)).toEqual(Array.from(d));
    one.embeddingDeltas.forEach((d, k) => expect(Array.from(d)).toEqual(Array.from(plain.embeddingDeltas[k]!)));
  });

  it('is checked when the config is loaded: the tower must exist, the key be spelt right, the scale in (0, 100]', () => {
    const load = (towers: unknown): unknown => loadConfig('escm2_ipw', { model: { towers } });
    expect(load({ cvr: { lr_scale: 0.3 } })).toBeDefined();
    expect(() => load({ cvrr: { lr_scale: 0.3 } })).toThrow(UserError);
    expect(() => load({ cvrr: { lr_scale: 0.3 } })).toThrow(/model\.towers\.cvrr\.lr_scale.*no tower 'cvrr'.*ctr, cvr/);
    expect(() => load({ cvr: { lr_scal: 0.3 } })).toThrow(/model\.towers\.cvr\.lr_scal.*unknown key/);
    expect(() => load({ cvr: { lr_scale: 0 } })).toThrow(/model\.towers\.cvr\.lr_scale/);
    expect(() => load({ cvr: { lr_scale: 'slow' } })).toThrow(/model\.towers\.cvr\.lr_scale/);
    // The line printed when training starts says which towers learn at another rate.
    expect(describeOptimizers(loadConfig('escm2_ipw', { model: { towers: { cvr: { lr_scale: 0.3 } } } }))).toMatch(/^optimizers: dense adam lr 0\.001 \(tower cvr x0\.3\); embeddings/);
    expect(describeOptimizers(loadConfig('escm2_ipw'))).toMatch(/^optimizers: dense adam lr 0\.001; embeddings/);
  });

  it('a misspelt tower is one error line from the CLI, naming the key', async () => {
    const dir = tempDir('esmm-lr-scale-');
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'data: { synth: { rows: 2000, seed: 1 } }\nschema: synth\nmodel: { name: escm2_dr, towers: { cvrr: { lr_scale: 0.3 } } }\n');
    const r = await runCli(['train', '--config', file, '--out', join(dir, 'out')]);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^esmm train: error: .*model\.towers\.cvrr\.lr_scale.*its towers: ctr, cvr, imputation/);
  });

  it('the data-parallel step refuses it rather than train every tower at one rate', () => {
    const cfg = config('esmm', {}, 0.5);
    const mg = buildModelGraph(funnelSpec('esmm', cfg.schema), layout, cfg.model, { training: true, seed: 1 });
    expect(parallelUnsupported(mg, cfg)).toMatch(/model\.towers\.cvr\.lr_scale/);
    expect(parallelUnsupported(mg, config('esmm', {}, undefined))).toBeUndefined();
  });
});
