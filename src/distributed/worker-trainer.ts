/**
 * Worker I of N of one training run whose embedding tables live in a Redis Cluster
 * (`esmm train --store redis://host:port --worker I/N`).
 *
 * - Data: the worker trains on `part`, its own rows, shuffled per epoch (seed, worker, epoch), or
 *   in their stored order with train.shuffle false.
 *   Training files with N > 1: each worker reads only its share of them; worker 0 fits the
 *   FeatureSpec with DuckDB over every file and shares it (api/load-partition.ts,
 *   partition-files.ts, spec-share.ts).
 *   Simulated data or N = 1: every worker fits the spec on all rows and keeps rows with index mod
 *   N == I (partitionRows); with N = 1 the run is the single-process run exactly (same order,
 *   same bits: the test checks it).
 * - Rounds: the workers exchange their partitions' row counts (run-decisions.ts); one round trains
 *   ONE batch of the config's batch_size, split over the N workers (round-plan.ts: with batch 1024
 *   and 2 workers, 512 rows each), and every epoch has the same number of rounds for every worker
 *   (a worker whose partition is shorter trains on 0 rows in its last rounds). Round r of a
 *   worker: pull the batch's rows from the store, run the step locally with its gradients weighted
 *   by its share of the round's rows, push the rows' summed gradients (the store applies the
 *   sparse optimizer atomically), then merge the workers' dense gradients and step the dense
 *   optimizer, the same on every worker (coordinator.ts; a barrier). Since every push of round r
 *   lands before the barrier, every pull of round r+1 sees all updates of rounds <= r: sparse
 *   reads are at most one round stale.
 * - Epoch end: worker 0 reads every stored row into its local tables, validates and applies
 *   train.early_stopping as the single-process trainer does (a better epoch's synced tables and
 *   dense parameters are snapshotted and restored at the end); it publishes its stop / go-on
 *   decision before the epoch barrier and the others read it after, so all stop after the same epoch.
 * - The end: worker 0's model (all rows synced) is a normal model; the caller saves it as today.
 * - Resume: a restarted worker (`--resume`) continues after the last completed round: its dense
 *   parameters AND dense optimizer state are that round's result (the coordinator keeps them until
 *   the next round completes), and the batch order of its epoch is regenerated.
 */
import type { EncodedChunk } from '../data/batch.js';
import type { EsmmConfig } from '../config/types.js';
import type { FeatureSpec } from '../features/spec.js';
import { takeEncodedRows } from '../features/encoded-rows.js';
import { UserError } from '../errors.js';
import { Rng } from '../util/random.js';
import type { TrainProgress } from '../train/progress.js';
import type { EpochRecord } from '../train/epoch-record.js';
import type { FunnelModel } from '../models/model.js';
import { startRun } from '../train/training-run.js';
import { finishRun, type TrainResult } from '../train/trainer.js';
import { checkStepLoss, recordStepLoss } from '../train/epoch.js';
import { applyEpochLearningRates } from '../train/lr-decay.js';
import { validateEpoch } from '../train/validation.js';
import { earlyStop } from '../train/early-stopping.js';
import { Coordinator } from './coordinator.js';
import { RedisTableStore } from './redis-store.js';
import { pullBatch, pushPending, storeBackTables, syncAll } from './store-sync.js';
import { withRetry } from './retry.js';
import { RunDecisions } from './run-decisions.js';
import { readStoreCheckpoint, STORE_CHECKPOINT_DIR, writeStoreCheckpoint } from './store-checkpoint.js';
import type { StoreTables } from './store-sync.js';
import { roundPlan, roundRows } from './round-plan.js';
import { TrainStep, type DenseOptimizerHandle } from '../train/step.js';
import { parallelUnsupported } from '../train/parallel/unsupported.js';
import { buildModelGraph } from '../models/build-graph.js';
import { layoutOf } from '../models/layout-of.js';
import { funnelSpec } from '../models/registry.js';
import { priorCounts } from '../train/prior-bias.js';

export interface WorkerOptions {
  /** redis://host:port of a node of the cluster. */
  store: string;
  worker: number;
  workers: number;
  /** Names the run's keys in the store (all workers of a run share it). */
  runId: string;
  resume?: boolean;
  groups?: number;
  log?: (line: string) => void;
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (r: EpochRecord, model: FunnelModel) => void | Promise<void>;
  /** Worker 0 writes a store snapshot here at each epoch end (store-checkpoint.ts); --resume reads it when the store lost the run. */
  checkpointDir?: string;
  /** Polled after every round; true stops this worker there (SIGINT). The run's state is in the store: restart it with --resume. */
  shouldStop?: () => boolean;
}

/** Parses `--worker I/N`. */
export function parseWorker(text: string): { worker: number; workers: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const worker = m === null ? NaN : Number(m[1]);
  const workers = m === null ? NaN : Number(m[2]);
  if (m === null || !(workers >= 1 && workers <= 1024 && worker < workers)) {
    throw new UserError(`--worker must be I/N with 0 <= I < N <= 1024 (e.g. 0/2), got '${text}'`);
  }
  return { worker, workers };
}

/** Rows with index mod workers == worker. */
export function partitionRows(chunk: EncodedChunk, worker: number, workers: number): EncodedChunk {
  const idx: number[] = [];
  for (let i = worker; i < chunk.rows; i += workers) idx.push(i);
  return takeEncodedRows(chunk, idx);
}

/**
 * Trains worker `wo.worker` of `wo.workers` on `part`, its own training rows (load-partition.ts
 * reads a worker's share of the files; partitionRows picks rows of in-memory data).
 */
export async function trainWorker(config: EsmmConfig, features: FeatureSpec, part: EncodedChunk, valid: EncodedChunk | undefined, wo: WorkerOptions): Promise<TrainResult> {
  const tc = config.train;
  if ((tc.workers ?? 1) > 1) throw new UserError('train.workers (threads of one process) cannot be combined with --worker (processes sharing a store); use one of them', { key: 'train.workers' });
  const log = wo.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const coord = await Coordinator.open(wo.store, wo.runId, wo.worker, wo.workers, log);
  let decisions: RunDecisions | undefined;
  let opened: RedisTableStore | undefined;
  try {
    await coord.checkWorkers();
    let done = await coord.lastDone();
    // `done` appears only once every worker has passed round 0, so a fresh run always sees -1 here.
    if (wo.resume !== true && done >= 0) {
      throw new UserError(`run '${wo.runId}' already has state in the store (round ${done + 1} of a run); pass --resume to continue it, or another --run-id`);
    }
    // Refused before the partition sizes are exchanged: that exchange waits for every worker.
    if (tc.level_refit === true) throw new UserError('store workers cannot use train.level_refit yet: each holds only its share of the training rows; drop it, or train in one process');
    if (wo.workers > 1) {
      const mg = buildModelGraph(funnelSpec(config.model.name, config.schema), layoutOf(features, config.model.embedding_dim), config.model, { training: true, seed: tc.seed });
      const why = parallelUnsupported(mg, config);
      if (why !== undefined) throw new UserError(`${wo.workers} store workers (--worker) cannot train ${why}; train it with one worker`);
    }
    // Every worker learns every partition's size: the same batch size and rounds per epoch for all.
    decisions = await RunDecisions.open(wo.store, coord, log);
    const counts = await decisions.shareCount('partition-rows', part.rows);
    const empty = counts.findIndex((n) => n === 0);
    if (empty >= 0) throw new UserError(`worker ${empty}/${wo.workers} has no training rows (partitions: ${counts.join(', ')} rows)`);
    // One round trains one batch of the config's batch_size over all workers (round-plan.ts).
    const plan = roundPlan(tc.batch_size, counts);
    const cfg: EsmmConfig = { ...config, train: { ...tc, batch_size: plan.batch[wo.worker]! } };
    // N >= 2: the step outputs its dense gradient and the coordinator merges them (one optimizer
    // step on the round's gradient, the same on every worker); N = 1 keeps the in-graph update.
    const merged = wo.workers > 1;
    // The output-bias init reads label rates: with several workers, those of all workers' rows, so
    // every worker starts where the single process starts (not at its own share's rates).
    const prior = merged && config.model.output_bias_init === 'prior'
      ? await decisions.shareSums('prior-label-counts', priorCounts(funnelSpec(config.model.name, config.schema), part))
      : undefined;
    const run = await startRun(cfg, features, part, '', { externalDense: merged }, prior);
    if (!(run.step instanceof TrainStep)) throw new Error('a store worker trains with one TrainStep');
    const step = run.step;
    const st = storeBackTables(run.embeddings);
    const store = (opened = await RedisTableStore.open(wo.store, st.specs, { run: wo.runId, log, ...(wo.groups !== undefined ? { groups: wo.groups } : {}) }));
    const params = [...run.params.values()];
    const opt = step.optimizer;
    if (wo.resume === true && done < 0) done = await restoreLostRun(wo, st, store, coord, params, opt, log, run.fingerprint);
    const gradShapes = step.mg.paramGrads.map((p) => run.params.get(p.param)!.length);
    const sum = gradShapes.map((n) => new Float32Array(n));
    const noGrads = gradShapes.map((n) => new Float32Array(n));
    const batch = run.batchSize;
    const rounds = plan.rounds;
    let round = 0;
    if (done >= 0) {
      // Resume: the dense parameters and optimizer state after the last completed round; continue with the next one.
      const r = await coord.restore(done, params, opt.state(), sum);
      opt.restore(r.state);
      if (r.applySum) step.applyDense(sum);
      round = done + 1;
      log(`worker ${wo.worker}: resuming at round ${round} (epoch ${Math.floor(round / rounds) + 1}, batch ${(round % rounds) + 1} of ${rounds})`);
    }
    const nCat = run.model.layout.categorical.length;
    // Seconds in store pulls / steps / pushes / barriers, logged at the end (bench/cluster.ts reads the line).
    const timings = { pull: 0, step: 0, push: 0, barrier: 0, rounds: 0, rows: 0 };
    const order = new Int32Array(part.rows);
    const { pos } = run;
    let stoppedEarly = false;
    for (let epoch = Math.floor(round / rounds) + 1; epoch <= tc.epochs; epoch++) {
      pos.epoch = epoch;
      // train.lr_decay: the store's Lua step takes the embedding rate per call, the dense optimizer per step.
      applyEpochLearningRates(tc, epoch, opt, [run.embeddings, store]);
      // The order of epoch e is the e-th shuffle of one Rng per worker (worker 0's is the single-process
      // trainer's), regenerated from the seed so that a resumed worker gets the same order.
      // train.shuffle false: the partition in its stored order. With rows dealt by index mod N and a
      // batch_size that is a multiple of N, round r's rows of all workers are then exactly the
      // single process's batch r (rows r*B..(r+1)*B-1): worker k trains rows r*B + k + N*j (see
      // docs/distributed.md; test/distributed/round-order.test.ts checks the mapping).
      const rng = new Rng(tc.seed + wo.worker * 7919);
      for (let i = 0; i < order.length; i++) order[i] = i;
      if (tc.shuffle !== false) {
        for (let e = 1; e <= epoch; e++) {
          for (let i = 0; i < order.length; i++) order[i] = i;
          rng.shuffle(order);
        }
      }
      const t0 = performance.now();
      pos.sums = {};
      let stepsDone = 0;
      for (let b = round % rounds; b < rounds; b++, round++) {
        const start = b * batch;
        const end = Math.min(part.rows, start + batch);
        let rows = 0;
        const n = roundRows(plan, b);
        if (merged && round % wo.workers === wo.worker) await coord.publishState(round, params, opt.state());
        else if (merged && round === 0) opt.restore(await coord.adoptState(0, params, opt.state()));
        if (start < end) {
          const bt = run.assembler.assemble(start, end, order);
          let t = performance.now();
          await pullBatch(store, st, nCat, bt, round);
          timings.pull += (performance.now() - t) / 1000;
          t = performance.now();
          // This worker's share of the round's rows: its gradients add up with the others' to the round's.
          step.gradScale = merged ? (end - start) / n : 1;
          const losses = await step.run(bt);
          timings.step += (performance.now() - t) / 1000;
          await checkStepLoss(run, losses.loss!);
          t = performance.now();
          await pushPending(store, st, { worker: wo.worker, round });
          timings.push += (performance.now() - t) / 1000;
          pos.globalStep++;
          await recordStepLoss(run, losses.loss!, losses);
          stepsDone++;
          rows = end - start;
        }
        const t = performance.now();
        if (merged) {
          await coord.syncGradients(round, rows, n, rows > 0 ? step.denseGradients : noGrads, sum);
          step.applyDense(sum);
        } else {
          await coord.commitRound(round, params, opt.state());
        }
        timings.barrier += (performance.now() - t) / 1000;
        timings.rounds++;
        timings.rows += rows;
        pos.batchInEpoch = b + 1;
        pos.epochSeconds = (performance.now() - t0) / 1000;
        wo.onProgress?.({ epoch, epochs: tc.epochs, step: b + 1, stepsPerEpoch: rounds, samplesPerSecond: Math.min(part.rows, end) / Math.max(1e-9, pos.epochSeconds), losses: means(pos.sums, stepsDone) });
        if (wo.shouldStop?.() === true && b + 1 < rounds) {
          await step.release();
          log(`worker ${wo.worker}/${wo.workers}: stopped after round ${round}; the run's state is in the store: restart this worker with --resume (the others wait for it)`);
          return finishRun(run, { stoppedEarly: false, interrupted: true, resumedFromStep: 0 });
        }
      }
      // Epoch end: worker 0 reads every row, snapshots the run, validates and decides whether to
      // stop (train.early_stopping, as the single-process trainer); the others wait at the barrier
      // and then read its decision, so every worker stops after the same epoch.
      let stop = false;
      if (wo.worker === 0) {
        await withRetry(store.cluster, 'reading every row', () => syncAll(store, st), log);
        if (wo.checkpointDir !== undefined && epoch < tc.epochs) {
          await writeStoreCheckpoint(wo.checkpointDir, { run: wo.runId, workers: wo.workers, round: round - 1, epoch, fingerprint: run.fingerprint, params: run.params, optimizer: opt.state(), tables: run.embeddings.tables });
        }
        const record: EpochRecord = { epoch, steps: rounds, seconds: pos.epochSeconds, samplesPerSecond: part.rows / Math.max(1e-9, pos.epochSeconds), train: means(pos.sums, stepsDone) };
        const v = await validateEpoch(run.model, valid, tc);
        if (v !== undefined) record.valid = v;
        pos.history.push(record);
        await wo.onEpoch?.(record, run.model);
        // A better epoch is snapshotted (the synced tables and the dense parameters): finishRun restores it.
        stop = earlyStop(run, record) && epoch < tc.epochs;
        await decisions.publishStop(epoch, stop);
      }
      await coord.barrier(`epoch${epoch}`);
      if (wo.worker !== 0) stop = await decisions.readStop(epoch);
      if (stop) {
        stoppedEarly = true;
        log(`worker ${wo.worker}/${wo.workers}: early stop after epoch ${epoch} of ${tc.epochs}${wo.worker === 0 ? '' : ' (decided by worker 0)'}`);
        break;
      }
    }
    await step.release();
    const trained = timings.pull + timings.step + timings.push + timings.barrier;
    const perRound = (x: number): string => `${((1000 * x) / Math.max(1, timings.rounds)).toFixed(1)} ms`;
    log(
      `worker ${wo.worker}/${wo.workers}: ${timings.rows.toLocaleString('en-US')} rows in ${trained.toFixed(1)} s (${Math.round(timings.rows / Math.max(trained, 1e-9)).toLocaleString('en-US')} rows/s); ` +
      `per round: pull ${perRound(timings.pull)}, step ${perRound(timings.step)}, push ${perRound(timings.push)}, barrier ${perRound(timings.barrier)}`,
    );
    return finishRun(run, { stoppedEarly, interrupted: false, resumedFromStep: 0 });
  } finally {
    await decisions?.close();
    await coord.close();
    await opened?.close();
  }
}

/**
 * --resume against a store without this run (it was flushed or rebuilt): worker 0 writes the rows
 * and the dense parameters of its last epoch-end snapshot back, the others wait for it. Returns
 * the restored round.
 */
async function restoreLostRun(wo: WorkerOptions, st: StoreTables, store: RedisTableStore, coord: Coordinator, params: Float32Array[], opt: DenseOptimizerHandle, log: (line: string) => void, fingerprint: string): Promise<number> {
  if (wo.worker !== 0) {
    log(`worker ${wo.worker}: run '${wo.runId}' has no state in the store; waiting for worker 0 to restore it from its snapshot`);
    const t0 = Date.now();
    for (;;) {
      const done = await coord.lastDone();
      if (done >= 0) return done;
      if (Date.now() - t0 > 600_000) throw new UserError(`run '${wo.runId}': worker 0 did not restore the run within 10 minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const snap = wo.checkpointDir === undefined ? undefined : readStoreCheckpoint(wo.checkpointDir, fingerprint);
  if (snap === undefined) {
    throw new UserError(`nothing to resume: the store has no state for run '${wo.runId}' and ${wo.checkpointDir ?? 'the output folder'} holds no ${STORE_CHECKPOINT_DIR}/`);
  }
  if (snap.run !== wo.runId || snap.workers !== wo.workers) {
    throw new UserError(`the store snapshot in ${wo.checkpointDir} is of run '${snap.run}' with ${snap.workers} workers, not '${wo.runId}' with ${wo.workers}`);
  }
  let rows = 0;
  for (let t = 0; t < st.tables.length; t++) {
    const { group, index } = st.where[t]!;
    const table = snap.tables.get(group)?.[index];
    if (table === undefined) throw new UserError(`the store snapshot in ${wo.checkpointDir} lacks table ${group}.${index}`);
    const saved = table.save();
    const n = saved.meta.allocatedRows as number;
    const b = saved.buffers;
    const block = {
      ids: new Int32Array(b.ids!.buffer, b.ids!.byteOffset, n),
      weights: new Float32Array(b.weights!.buffer, b.weights!.byteOffset, n * table.dim),
      state: new Int32Array(b.state!.buffer, b.state!.byteOffset, n * (saved.meta.stateWords as number)),
      ...(b.counts !== undefined ? { counts: new Int32Array(b.counts.buffer, b.counts.byteOffset, n) } : {}),
    };
    await store.restoreRows(t, block);
    rows += n;
  }
  const names = [...snap.params.keys()];
  const restored = names.map((k) => snap.params.get(k)!);
  if (restored.length !== params.length || restored.some((p, i) => p.length !== params[i]!.length)) {
    throw new UserError(`the store snapshot in ${wo.checkpointDir} has other dense parameters than this config's model`);
  }
  // A snapshot written before the optimizer state was kept restarts the dense moments from zero.
  const optimizer = snap.optimizer ?? opt.state();
  await coord.restoreRound(snap.round, restored, optimizer);
  log(`worker 0: restored run '${wo.runId}' from its epoch-${snap.epoch} snapshot (${rows.toLocaleString('en-US')} rows, round ${snap.round})`);
  return snap.round;
}

function means(sums: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)]));
}
