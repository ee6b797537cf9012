/**
 * `npm run bench`: the ESMM paper-setting training bench, interleaved with PyTorch on the same
 * machine: for each batch size, `--pairs` pairs of (ours, torch at each thread count), each run
 * the same work (10 warm-up steps, then 60 timed steps, a fresh model each time). One JSON line per
 * run, then one summary line per batch size: the median of the per-pair ratios (ours over
 * PyTorch's best thread count in that pair) with its min and max, and samples per CPU-second of
 * each engine (CPU time of the whole call, set-up and warm-up included, for both engines; it moves
 * far less than wall time when other tenants share the machine).
 *
 * Options: --batches 512,2048  --pairs 5  --threads N (ORT intra-op threads, default all cores)
 *          --torch-threads 1,2  --embedding-optimizer adam|adagrad  --optimizer adam|sgd  --no-torch
 *          --workers 1,2 (train.workers counts; each pair then runs ours once per count, the
 *          --threads split between the workers; summary keys get a _wN suffix when more than one)
 */
import os from 'node:os';
import { esmmCase, type EsmmCaseOptions } from './esmm.js';
import { torchMissing } from './torch.js';
import { TorchServer, type TorchServeLine } from './torch-serve.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The PyTorch script's fixed work per call; ours does the same. */
const STEPS = 60;
const WARM = 10;

const batches = (arg('batches') ?? '512,2048').split(',').map(Number);
const pairs = Number(arg('pairs') ?? 5);
const torchThreads = (arg('torch-threads') ?? '1,2').split(',').map(Number);
const workerCounts = (arg('workers') ?? '1').split(',');
if (workerCounts.some((w) => !/^[1-9][0-9]*$/.test(w))) throw new Error(`--workers takes positive integers, e.g. 1,2; got ${arg('workers')}`);
const base: Omit<EsmmCaseOptions, 'batch'> = {
  runs: 1,
  steps: STEPS,
  warm: WARM,
  threads: Number(arg('threads') ?? os.availableParallelism()),
  // torch's script uses SparseAdam for the embeddings: compare like with like by default.
  embeddingOptimizer: (arg('embedding-optimizer') ?? 'adam') as EsmmCaseOptions['embeddingOptimizer'],
  optimizer: (arg('optimizer') ?? 'adam') as EsmmCaseOptions['optimizer'],
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (xs: number[], digits: number): { median: number; min: number; max: number } => ({
  median: +median(xs).toFixed(digits),
  min: +Math.min(...xs).toFixed(digits),
  max: +Math.max(...xs).toFixed(digits),
});
const load = (): number => +os.loadavg()[0]!.toFixed(2);

/** One of our runs, with the CPU seconds of the whole call (all threads of this process). */
async function oursOnce(batch: number, workers: string): Promise<{ sps: number; cpuS: number; line: Record<string, unknown> }> {
  const c0 = process.cpuUsage(); // the whole process: worker threads and ORT's threads included
  const line = await esmmCase({ ...base, batch, workers: parseInt(workers, 10) });
  const c = process.cpuUsage(c0);
  const cpuS = (c.user + c.system) / 1e6;
  return { sps: line.samples_per_s_median as number, cpuS, line: { ...line, cpu_s_whole_call: +cpuS.toFixed(3) } };
}

console.log(JSON.stringify({ bench: 'machine', cpus: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, load_avg: os.loadavg().map((x) => +x.toFixed(2)) }));
const missing = process.argv.includes('--no-torch') ? 'skipped (--no-torch)' : torchMissing();
if (missing !== undefined) console.log(JSON.stringify({ bench: 'torch', skipped: true, reason: missing }));
const torch = missing === undefined ? new TorchServer() : undefined;

const samplesPerCall = (batch: number): number => (STEPS + WARM) * batch;
for (const batch of batches) {
  const ours = new Map<string, { sps: number[]; perCpu: number[]; ratios: number[] }>(workerCounts.map((w) => [w, { sps: [], perCpu: [], ratios: [] }]));
  const torchByThreads = new Map<number, { sps: number[]; perCpu: number[] }>(torchThreads.map((t) => [t, { sps: [], perCpu: [] }]));
  const loads: number[] = [];
  for (let p = 0; p < pairs; p++) {
    loads.push(load());
    const pairOurs = new Map<string, number>();
    for (const w of workerCounts) {
      const o = await oursOnce(batch, w);
      const acc = ours.get(w)!;
      acc.sps.push(o.sps);
      acc.perCpu.push(samplesPerCall(batch) / o.cpuS);
      pairOurs.set(w, o.sps);
      console.log(JSON.stringify({ ...o.line, pair: p + 1 }));
    }
    if (torch === undefined) continue;
    let best = 0;
    for (const t of torchThreads) {
      const line: TorchServeLine = await torch.run(batch, t);
      const acc = torchByThreads.get(t)!;
      acc.sps.push(line.samples_per_s);
      acc.perCpu.push(samplesPerCall(batch) / line.cpu_s_whole_call);
      best = Math.max(best, line.samples_per_s);
      console.log(JSON.stringify({ bench: 'torch', pair: p + 1, ...line, samples_per_s: Math.round(line.samples_per_s), load_1m: load() }));
    }
    for (const [w, sps] of pairOurs) ours.get(w)!.ratios.push(sps / best);
  }
  const summary: Record<string, unknown> = { bench: 'summary', batch, pairs, workers: workerCounts, load_1m: spread(loads, 2) };
  const suffix = (w: string): string => (workerCounts.length > 1 ? `_w${w}` : '');
  for (const [w, acc] of ours) {
    summary[`ours${suffix(w)}_samples_per_s`] = spread(acc.sps, 0);
    summary[`ours${suffix(w)}_samples_per_cpu_s`] = spread(acc.perCpu, 0);
  }
  if (torch !== undefined) {
    for (const [t, acc] of torchByThreads) {
      summary[`torch_${t}t_samples_per_s`] = spread(acc.sps, 0);
      summary[`torch_${t}t_samples_per_cpu_s`] = spread(acc.perCpu, 0);
    }
    for (const [w, acc] of ours) summary[`ours${suffix(w)}_over_torch_best`] = spread(acc.ratios, 3);
  }
  console.log(JSON.stringify(summary));
}
torch?.close();
