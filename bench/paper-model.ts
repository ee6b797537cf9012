/**
 * An untrained ESMM in the paper setting (23 categorical fields, dim 18, towers 360-200-80) with
 * a fitted FeatureSpec, for the scorer and server benchmarks. Scoring cost does not depend on
 * the weights' values, so no training is needed.
 */
import { parseConfig } from '../src/api/load-config.js';
import { rowsToRawChunk, type CellValue } from '../src/data/rows.js';
import type { Schema } from '../src/data/schema.js';
import { FeatureSpec } from '../src/features/spec.js';
import { buildModelGraph } from '../src/models/build-graph.js';
import { EmbeddingSet } from '../src/models/embeddings.js';
import { layoutOf } from '../src/models/layout-of.js';
import { FunnelModel } from '../src/models/model.js';
import { funnelSpec } from '../src/models/registry.js';
import { embeddingGroups } from '../src/models/funnel-spec.js';
import { Rng } from '../src/synth/prng.js';

export const PAPER_FIELDS = 23;

export function paperSchema(): Schema {
  return { labels: { click: 'click', buy: 'buy' }, categorical: Array.from({ length: PAPER_FIELDS }, (_, i) => `f${i}`) };
}

/** Random rows over vocabularies of 10 to ~50k values per field. */
export function paperRows(n: number, seed: number): Record<string, CellValue>[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const row: Record<string, CellValue> = {};
    for (let f = 0; f < PAPER_FIELDS; f++) row[`f${f}`] = `v${rng.int(10 + ((f * 7919) % 50_000))}`;
    return row;
  });
}

export async function paperModel(threads = 1): Promise<FunnelModel> {
  const schema = paperSchema();
  const config = parseConfig(
    { data: { train: 'unused.csv' }, schema, model: { name: 'esmm', embedding_dim: 18, tower: [360, 200, 80] }, train: { threads } },
    'bench',
    process.cwd(),
  );
  const features = FeatureSpec.fit(schema, rowsToRawChunk(paperRows(50_000, 1), schema, { labelsOptional: true }));
  const spec = funnelSpec('esmm', schema);
  const layout = layoutOf(features, 18);
  const mg = buildModelGraph(spec, layout, config.model, { training: false, seed: 1 });
  const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
  const embeddings = EmbeddingSet.create(layout, embeddingGroups(spec), { type: 'adagrad', lr: 0.01 }, 1, 'sum');
  return new FunnelModel(config, spec, layout, features, params, embeddings);
}

export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
