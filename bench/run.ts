/**
 * `npm run bench`: the ESMM paper-setting training bench (bench/esmm.ts) at batch 512 and 2048,
 * then the PyTorch anchor in the same run when Debian's python3-torch is installed, then the ratio
 * ours / PyTorch per batch size. One JSON line per case.
 *
 * Options: --batches 512,2048  --runs 5  --steps N (default: about 80k samples a run)  --warm 16  --threads 2
 *          --embedding-optimizer adam|adagrad  --optimizer adam|sgd  --no-torch
 */
import os from 'node:os';
import { esmmCase, type EsmmCaseOptions } from './esmm.js';
import { runTorch, torchMissing, type TorchLine } from './torch.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const batches = (arg('batches') ?? '512,2048').split(',').map(Number);
const base: Omit<EsmmCaseOptions, 'batch' | 'steps'> = {
  runs: Number(arg('runs') ?? 5),
  warm: Number(arg('warm') ?? 16),
  threads: Number(arg('threads') ?? os.availableParallelism()),
  // torch's script uses SparseAdam for the embeddings: compare like with like by default.
  embeddingOptimizer: (arg('embedding-optimizer') ?? 'adam') as EsmmCaseOptions['embeddingOptimizer'],
  optimizer: (arg('optimizer') ?? 'adam') as EsmmCaseOptions['optimizer'],
};

console.log(JSON.stringify({ bench: 'machine', cpus: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, load_avg: os.loadavg().map((x) => +x.toFixed(2)) }));
const ours = new Map<number, number>();
for (const batch of batches) {
  const steps = arg('steps') !== undefined ? Number(arg('steps')) : Math.ceil(81_920 / batch);
  const line = await esmmCase({ ...base, batch, steps });
  ours.set(batch, line.samples_per_s_median as number);
  console.log(JSON.stringify(line));
}

const missing = process.argv.includes('--no-torch') ? 'skipped (--no-torch)' : torchMissing();
if (missing !== undefined) {
  console.log(JSON.stringify({ bench: 'torch', skipped: true, reason: missing }));
} else {
  const torch: Map<number, TorchLine> = await runTorch(batches, (l) => console.log(JSON.stringify({ bench: 'torch', ...l, load_1m: +os.loadavg()[0]!.toFixed(2) })));
  for (const batch of batches) {
    const t = torch.get(batch);
    const o = ours.get(batch);
    if (t === undefined || o === undefined) continue;
    console.log(JSON.stringify({ bench: 'ratio', batch, ours_samples_per_s: o, torch_samples_per_s: Math.round(t.samples_per_s_median), ours_over_torch: +(o / t.samples_per_s_median).toFixed(3) }));
  }
}
