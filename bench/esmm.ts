/**
 * ESMM paper-setting training throughput through the real code path: buildModelGraph ->
 * TrainStep (ORT forward + backward, in-graph Adam for the towers) with EmbeddingSet tables and
 * BatchAssembler batches. One case = one batch size: a fresh model, `warm` steps, then `runs` timed
 * runs of `steps` steps; samples/s is the median over runs, and the time split is the mean per step
 * over all timed steps. With `workers` > 1 the step is the data-parallel one (train/parallel,
 * ShardedTrainStep): then `gather` is the main thread's batch write plus the workers' mean gather
 * time, `ort` the workers' mean ORT run, `sparse_update` their mean own-shard update,
 * `dense_update` their mean stripe reduce + optimizer plus the main thread's parameter copy, and
 * `handoff` the rest of both phases (posting and waking the workers, copying their outputs into
 * shared memory, waiting for the slowest).
 */
import os from 'node:os';
import type { EsmmConfig } from '../src/config/types.js';
import { DEFAULT_MODEL, DEFAULT_TRAIN } from '../src/config/defaults.js';
import { buildModelGraph } from '../src/models/build-graph.js';
import { EmbeddingSet } from '../src/models/embeddings.js';
import { funnelSpec } from '../src/models/registry.js';
import { embeddingGroups } from '../src/models/funnel-spec.js';
import { BatchAssembler } from '../src/data/batch-assembler.js';
import { sparseOptimizerConfig, TrainStep } from '../src/train/step.js';
import { ShardedTrainStep } from '../src/train/parallel/sharded-step.js';
import { Rng } from '../src/util/random.js';
import { benchData, benchLayout, FIELDS } from './esmm-data.js';

export interface EsmmCaseOptions {
  batch: number;
  runs: number;
  steps: number;
  warm: number;
  threads: number;
  embeddingOptimizer: EsmmConfig['train']['embedding_optimizer'];
  /** Dense optimizer of the towers (adam runs inside the graph; sgd in JS). */
  optimizer: EsmmConfig['train']['optimizer'];
  /** Data-parallel worker threads (train.workers); `threads` is split between them. Default 1. */
  workers?: number;
}

export function benchConfig(o: EsmmCaseOptions): EsmmConfig {
  const categorical = Array.from({ length: FIELDS }, (_, f) => `f${f}`);
  return {
    data: {},
    schema: { labels: { click: 'click', buy: 'buy' }, categorical },
    features: {},
    model: { ...DEFAULT_MODEL, embedding_dim: 18, tower: [360, 200, 80], activation: 'relu', dropout: 0 },
    train: {
      ...DEFAULT_TRAIN,
      batch_size: o.batch,
      learning_rate: 1e-3,
      // torch's SparseAdam runs at lr 1e-3; Adagrad at its usual 10x.
      embedding_learning_rate: o.embeddingOptimizer === 'adagrad' ? 1e-2 : 1e-3,
      embedding_optimizer: o.embeddingOptimizer,
      optimizer: o.optimizer,
      threads: o.threads,
      workers: o.workers ?? 1,
      seed: 1,
    },
    baseDir: '.',
    source: 'bench',
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, digits = 2): number => +x.toFixed(digits);

export async function esmmCase(o: EsmmCaseOptions): Promise<Record<string, unknown>> {
  const config = benchConfig(o);
  const layout = benchLayout();
  const spec = funnelSpec('esmm', config.schema);
  const mg = buildModelGraph(spec, layout, config.model, { training: true, seed: 1 });
  const params = new Map(mg.graph.params().map((p) => [p.value.name, Float32Array.from(p.init)]));
  const embeddings = EmbeddingSet.create(layout, embeddingGroups(spec), sparseOptimizerConfig(config.train), 1, 'sum');
  const workers = o.workers ?? 1;
  const step = workers === 1 ? await TrainStep.create(mg, params, embeddings, config, o.batch)
    : await ShardedTrainStep.create(mg, params, embeddings, config, o.batch, workers);
  const denseInGraph = step instanceof TrainStep && step.denseInGraph;
  const cycle = 8; // batches of distinct rows, cycled (as the torch script does)
  const data = benchData(o.batch * cycle, 2);
  const assembler = new BatchAssembler(data, o.batch, mg.labelInputs.map((l) => l.key));
  const order = new Int32Array(data.rows).map((_, i) => i);
  new Rng(3).shuffle(order);

  let k = 0;
  let assembleMs = 0;
  let lastLoss = NaN;
  const oneStep = async (): Promise<void> => {
    const a = performance.now();
    const start = (k++ % cycle) * o.batch;
    const batch = assembler.assemble(start, start + o.batch, order);
    assembleMs += performance.now() - a;
    lastLoss = (await step.run(batch)).loss!;
  };
  for (let i = 0; i < o.warm; i++) await oneStep();
  step.resetTimings();
  assembleMs = 0;
  const load0 = os.loadavg()[0]!;
  const rates: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const t = performance.now();
    for (let i = 0; i < o.steps; i++) await oneStep();
    rates.push((o.steps * o.batch) / ((performance.now() - t) / 1000));
  }
  const tm = step.timings;
  const per = (ms: number): number => round(ms / tm.steps);
  const total = assembleMs + tm.gather + tm.ort + tm.dense + tm.sparse + tm.handoff;
  await step.release();
  return {
    bench: 'esmm',
    engine: 'esmm (onnxruntime-node)',
    batch: o.batch,
    fields: FIELDS,
    dim: layout.dim,
    towers: '414-360-200-80-1 x2',
    optimizer: `${o.optimizer}${denseInGraph ? ' (in graph)' : ' (js)'}`,
    embedding_optimizer: o.embeddingOptimizer,
    ort_threads: o.threads,
    workers,
    step: step.constructor.name,
    samples_per_s_median: Math.round(median(rates)),
    runs: rates.map((x) => Math.round(x)),
    steps_per_run: o.steps,
    ms_per_step: {
      assemble: per(assembleMs),
      gather: per(tm.gather),
      ort: per(tm.ort),
      sparse_update: per(tm.sparse),
      dense_update: per(tm.dense),
      handoff: per(tm.handoff),
      total: per(total),
    },
    rows_materialised: [...embeddings.tables.values()].flat().reduce((s, t) => s + t.allocatedRows(), 0),
    final_loss: round(lastLoss, 4),
    load_1m: [round(load0), round(os.loadavg()[0]!)],
  };
}
