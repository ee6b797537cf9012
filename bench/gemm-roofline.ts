/**
 * How fast can ANY engine train the paper-setting ESMM on this machine? A roofline from the matrix
 * products alone.
 *
 * One training step of ESMM with towers 360-200-80 over 23 fields x dim 18 (input width 414) does,
 * per tower and per dense layer (in -> out), three matrix products on the batch B:
 *   forward Y = X W  (B x in x out),  input gradient dX = dY W^T,  weight gradient dW = X^T dY,
 * i.e. 6 * B * in * out floating-point operations. Nothing else in the step (activations, the
 * loss, Adam, the embedding gather and update) is needed to bound it: those only add time. This
 * bench runs exactly those products in onnxruntime (MLAS, the same kernels the trainer uses) at
 * the step's shapes and reports the step time they alone need, the samples/s ceiling that implies,
 * and the machine's GEMM rate on one large square product for reference.
 *
 *   node dist/bench/gemm-roofline.js [--batch 2048] [--threads 1,2] [--reps 30]
 */
import os from 'node:os';
import { Graph } from '../src/graph/graph.js';
import { encodeModel } from '../src/graph/onnx.js';
import { GraphSession, type Feeds } from '../src/runtime/session.js';
import { Rng } from '../src/synth/prng.js';

const INPUT_WIDTH = 23 * 18;
const TOWER = [360, 200, 80, 1];
const TOWERS = 2;

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

function randomArray(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform() - 0.5;
  return a;
}

/** The layers (in, out) of one tower. */
function layers(): [number, number][] {
  const widths = [INPUT_WIDTH, ...TOWER];
  return widths.slice(1).map((out, i) => [widths[i]!, out]);
}

/** A graph of just the step's products, with its feeds and its FLOP count. */
function stepProducts(batch: number, rng: Rng): { model: Uint8Array; feeds: Feeds; flops: number } {
  const g = new Graph('roofline');
  const feeds: Feeds = {};
  const outs: string[] = [];
  let flops = 0;
  for (let t = 0; t < TOWERS; t++) {
    layers().forEach(([inW, outW], l) => {
      const x = g.input(`x${t}_${l}`, [batch, inW]);
      const dy = g.input(`dy${t}_${l}`, [batch, outW]);
      const w = g.param(`w${t}_${l}`, [inW, outW], randomArray(inW * outW, rng));
      feeds[x.name] = { data: randomArray(batch * inW, rng), dims: [batch, inW] };
      feeds[dy.name] = { data: randomArray(batch * outW, rng), dims: [batch, outW] };
      const products = [g.matmul(x, w), g.gemm(dy, w, undefined, { transB: true }), g.gemm(x, dy, undefined, { transA: true })];
      products.forEach((p, k) => {
        const name = `p${t}_${l}_${k}`;
        g.output(name, p);
        outs.push(name);
      });
      flops += 6 * batch * inW * outW;
    });
  }
  return { model: encodeModel(g, { paramsAs: 'initializers', outputs: outs }), feeds, flops };
}

function squareProduct(n: number, rng: Rng): { model: Uint8Array; feeds: Feeds; flops: number } {
  const g = new Graph('square');
  const a = g.input('a', [n, n]);
  const b = g.param('b', [n, n], randomArray(n * n, rng));
  g.output('c', g.matmul(a, b));
  return { model: encodeModel(g, { paramsAs: 'initializers' }), feeds: { a: { data: randomArray(n * n, rng), dims: [n, n] } }, flops: 2 * n * n * n };
}

async function timeRuns(model: Uint8Array, feeds: Feeds, threads: number, reps: number): Promise<number[]> {
  const s = await GraphSession.create(model, { intraOpThreads: threads });
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    ms.push(performance.now() - t0);
  }
  await s.release();
  return ms.sort((a, b) => a - b);
}

const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const batch = Number(flag('batch', '2048'));
  const reps = Number(flag('reps', '30'));
  const threadList = flag('threads', '1,2').split(',').map(Number);
  const rng = new Rng(7);
  const step = stepProducts(batch, rng);
  const square = squareProduct(1024, rng);
  console.log(`gemm roofline: batch ${batch}, towers ${TOWERS} x [${TOWER.join(', ')}] over input ${INPUT_WIDTH}; ${(step.flops / batch / 1e6).toFixed(2)} MFLOP per sample in the products`);
  console.log(`load at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${os.cpus().length} cores`);
  console.log('threads | square 1024 GFLOP/s | step products ms (median [min-max]) | products GFLOP/s | samples/s ceiling');
  for (const threads of threadList) {
    const sq = await timeRuns(square.model, square.feeds, threads, reps);
    const st = await timeRuns(step.model, step.feeds, threads, reps);
    const m = median(st);
    console.log(
      `${threads} | ${(square.flops / median(sq) / 1e6).toFixed(1)} | ${m.toFixed(1)} [${st[0]!.toFixed(1)}-${st[st.length - 1]!.toFixed(1)}] | ${(step.flops / m / 1e6).toFixed(1)} | ${Math.round((batch / m) * 1000)}`,
    );
  }
  console.log(`load at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

await main();
