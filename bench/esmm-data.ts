/**
 * Synthetic data for the ESMM paper-setting bench, generated as ../shared/bench/torch_esmm_bench.py
 * does so both engines see the same id distribution: 23 single-valued fields, each with its own
 * slice of 86,956 ids (23 x 86,956 = 1,999,988 rows in all, i.e. the torch script's one 2M table
 * split evenly), ids floor(u^3 * 86,956) with u uniform (a Zipf-like skew: small ids are frequent),
 * click with probability 4%, buy = click AND (5%), `batches` batches of rows cycled through.
 */
import type { EncodedChunk } from '../src/data/batch.js';
import type { FeatureLayout } from '../src/models/layout.js';
import { Rng } from '../src/util/random.js';

export const FIELDS = 23;
export const DIM = 18;
export const TOTAL_ROWS = 2_000_000;
export const ROWS_PER_FIELD = Math.floor(TOTAL_ROWS / FIELDS);

export function benchLayout(): FeatureLayout {
  return {
    dim: DIM,
    categorical: Array.from({ length: FIELDS }, (_, f) => ({ name: `f${f}`, size: ROWS_PER_FIELD })),
    multiValued: [],
    numericDim: 0,
  };
}

export function benchData(rows: number, seed: number): EncodedChunk {
  const rng = new Rng(seed);
  const categorical = Array.from({ length: FIELDS }, () => new Int32Array(rows));
  for (let i = 0; i < rows; i++) {
    for (let f = 0; f < FIELDS; f++) categorical[f]![i] = Math.min(ROWS_PER_FIELD - 1, Math.floor(rng.next() ** 3 * ROWS_PER_FIELD));
  }
  const click = new Float32Array(rows);
  const buy = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    click[i] = rng.next() < 0.04 ? 1 : 0;
    buy[i] = click[i]! * (rng.next() < 0.05 ? 1 : 0);
  }
  return { rows, categorical, multiValued: [], numeric: new Float32Array(0), labels: { click, buy, actions: new Map() }, truth: new Map() };
}
