/**
 * Why do ESM2's action towers add nothing on the simulator, where a buy after a cart is ~12x
 * likelier than one without (cartLogOdds 2.5)? Trains esm2 (and esmm for reference) on the same
 * rows and prints, on the test split:
 * - the training loss terms per epoch;
 * - each tower's own probability: y2 = p(cart | click) against cart on clicked rows,
 *   y3 = p(buy | cart) against buy on carted rows, y4 = p(buy | no cart) against buy on clicked
 *   rows without a cart (AUC and mean against the observed rate);
 * - mean y3 / mean y4 against the observed buy-rate ratio after / without a cart;
 * - entire-space pCVR AUC and CTR AUC.
 *
 *   node dist/bench/esm2-diagnose.js [--rows 200000] [--seeds 1,2] [--epochs 1] [--variants esmm,esm2] [--loss-weights ctavr=1]
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/api/load-config.js';
import { loadData } from '../src/api/load-data.js';
import { prepareFeatures } from '../src/api/prepare-features.js';
import { trainAndEvaluate } from '../src/api/pipeline.js';
import { buildModelGraph } from '../src/models/build-graph.js';
import { encodeModel } from '../src/graph/onnx.js';
import { GraphSession } from '../src/runtime/session.js';
import { FeedBuilder } from '../src/models/feeds.js';
import { batchView } from '../src/models/batch-view.js';
import type { FunnelModel } from '../src/models/model.js';
import type { EncodedChunk } from '../src/data/batch.js';
import { auc } from '../src/metrics/auc.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    seeds: { type: 'string', default: '1,2' },
    epochs: { type: 'string', default: '1' },
    variants: { type: 'string', default: 'esmm,esm2' },
    'loss-weights': { type: 'string', default: '' },
    regime: { type: 'string', default: '{}' },
  },
});

/** Variant name -> model name and overrides. `esm2_full` adds the click&cart&buy loss (if registered). */
function variant(v: string): { name: string; model: Record<string, unknown> } {
  const [name, ...opts] = v.split('+');
  const model: Record<string, unknown> = {};
  for (const o of opts) {
    const [k, w] = o.split('=');
    ((model.loss_weights ??= {}) as Record<string, number>)[k!] = Number(w);
  }
  return { name: name!, model };
}

async function towerProbs(model: FunnelModel, chunk: EncodedChunk): Promise<Record<string, Float32Array>> {
  const mg = buildModelGraph(model.spec, model.layout, model.config.model, { training: false, seed: model.config.train.seed, towerOutputs: true });
  const names = mg.graph.outputs().map((o) => o.name);
  const session = await GraphSession.create(encodeModel(mg.graph, { paramsAs: 'inputs' }), {});
  const feeds = new FeedBuilder(mg, 8192);
  const out: Record<string, Float32Array> = Object.fromEntries(names.map((n) => [n, new Float32Array(chunk.rows)]));
  for (let s = 0; s < chunk.rows; s += 8192) {
    const e = Math.min(chunk.rows, s + 8192);
    const r = await session.run(feeds.build(batchView(chunk, s, e), model.embeddings, model.params), names);
    for (const n of names) out[n]!.set(r[n]!.subarray(0, e - s), s);
  }
  await session.release();
  return out;
}

function subset(mask: (i: number) => boolean, n: number, ...xs: Float32Array[]): Float32Array[] {
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (mask(i)) idx.push(i);
  return xs.map((x) => Float32Array.from(idx, (i) => x[i]!));
}
const mean = (x: Float32Array): number => x.reduce((a, b) => a + b, 0) / Math.max(1, x.length);
const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

const regime = JSON.parse(values.regime) as Record<string, unknown>;
for (const seed of values.seeds.split(',').map(Number)) {
  const base = loadConfig('esm2', { data: { synth: { rows: Number(values.rows), seed, ...regime } }, model: { tower: [128, 64] }, train: { epochs: Number(values.epochs), batch_size: 1024, seed } });
  const data = await loadData(base.data, base.schema, { baseDir: base.baseDir });
  const features = prepareFeatures(base.schema, data, base.features);
  const test = features.test!;
  const click = test.labels.click;
  const buy = test.labels.buy;
  const cart = test.labels.action!;
  for (const v of values.variants.split(',')) {
    const { name, model } = variant(v);
    const config = loadConfig('esm2', {
      data: { synth: { rows: Number(values.rows), seed, ...regime } },
      model: { name, tower: [128, 64], ...model },
      train: { epochs: Number(values.epochs), batch_size: 1024, seed },
    });
    const r = await trainAndEvaluate(config, { prepared: { data, features } });
    const m = r.metrics;
    const line: Record<string, unknown> = {
      bench: 'esm2-diagnose', seed, variant: v, auc_cvr_entire_space: r4(m.auc_cvr_entire_space!), auc_ctr: r4(m.auc_ctr!), auc_ctcvr: r4(m.auc_ctcvr!), auc_cvr_clicked: r4(m.auc_cvr_clicked!),
      train_losses: Object.fromEntries(r.result.history.map((h) => [h.epoch, Object.fromEntries(Object.entries(h.train).map(([k, x]) => [k, r4(x)]))])),
    };
    if (name !== 'esmm') {
      const t = await towerProbs(r.result.model, test);
      const y2 = t['tower/action']!;
      const y3 = t['tower/buy_after_action']!;
      const y4 = t['tower/buy_no_action']!;
      const [c2, l2] = subset((i) => click[i] === 1, test.rows, y2, cart);
      const [c3, l3] = subset((i) => cart[i] === 1, test.rows, y3, buy);
      const [c4, l4] = subset((i) => click[i] === 1 && cart[i] === 0, test.rows, y4, buy);
      Object.assign(line, {
        y2_auc_cart_on_clicked: r4(auc(l2!, c2!)), y2_mean: r4(mean(c2!)), cart_rate_clicked: r4(mean(l2!)),
        y3_auc_buy_on_carted: r4(auc(l3!, c3!)), y3_mean_on_carted: r4(mean(c3!)), buy_rate_carted: r4(mean(l3!)),
        y4_auc_buy_on_nocart: r4(auc(l4!, c4!)), y4_mean_on_nocart: r4(mean(c4!)), buy_rate_nocart: r4(mean(l4!)),
        y3_over_y4_all: r4(mean(y3) / mean(y4)), observed_ratio: r4(mean(l3!) / mean(l4!)),
        y3_mean_all: r4(mean(y3)), y4_mean_all: r4(mean(y4)),
      });
    }
    await r.result.model.release();
    console.log(JSON.stringify(line));
  }
}
