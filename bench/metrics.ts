/**
 * Time exact AUC (and GAUC, top-k) on 10M random scores; prints one JSON line.
 * Run: npx tsc -p tsconfig.json && node dist/bench/metrics.js [rows]
 */
import { auc } from '../src/metrics/auc.js';
import { gauc } from '../src/metrics/gauc.js';
import { topK } from '../src/metrics/topk.js';
import { Rng } from '../src/synth/prng.js';

const rows = Number(process.argv[2] ?? 10_000_000);
const rng = new Rng(1);
const labels = new Uint8Array(rows);
const scores = new Float32Array(rows);
const groups = new Int32Array(rows);
for (let i = 0; i < rows; i++) {
  const y = rng.uniform() < 0.04 ? 1 : 0;
  labels[i] = y;
  scores[i] = 1 / (1 + Math.exp(-(rng.normal() + 0.8 * y - 3)));
  groups[i] = rng.int(100_000);
}
const time = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const v = f();
  return [v, (performance.now() - t) / 1000];
};
const [aucValue, aucSeconds] = time(() => auc(labels, scores));
const [g, gaucSeconds] = time(() => gauc(labels, scores, groups));
const [top, topSeconds] = time(() => topK(labels, scores, 0.01));
console.log(
  JSON.stringify({
    bench: 'metrics',
    rows,
    auc: aucValue,
    auc_s: +aucSeconds.toFixed(3),
    gauc: g.gauc,
    gauc_groups: g.groups,
    gauc_s: +gaucSeconds.toFixed(3),
    top1pct_precision: top.precision,
    topk_s: +topSeconds.toFixed(3),
    node: process.version,
  }),
);
