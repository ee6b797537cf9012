/**
 * How the rounds of a store run (`--worker I/N`) cut the training rows: one round trains ONE batch
 * of the config's `train.batch_size` rows, split over the N workers as the in-process sharded step
 * splits a batch over its threads (near-equal parts, larger first: slice-batch.ts). The workers'
 * gradients, each weighted by its share of the round's rows, add up to the gradient of that batch
 * (coordinator.ts), so N workers take the steps a single process takes at the config's batch
 * size: the same number per epoch, each on a batch of the same size.
 *
 * Every worker computes the same plan from the partition sizes of all workers, so each knows the
 * round's total rows (its weight n_k / n) before anything is exchanged.
 */
import { UserError } from '../errors.js';
import { sliceRanges } from '../train/parallel/slice-batch.js';

export interface RoundPlan {
  /** Rows per round of each worker (the last round of a partition may have fewer, or none). */
  batch: number[];
  /** Training rows of each worker's partition. */
  partRows: number[];
  /** Rounds per epoch, the same for every worker. */
  rounds: number;
}

/** Partition sizes of `rows` rows dealt out by index mod `workers` (worker-trainer's partitionRows). */
export function modPartitionSizes(rows: number, workers: number): number[] {
  return Array.from({ length: workers }, (_, w) => Math.max(0, Math.ceil((rows - w) / workers)));
}

export function roundPlan(batchSize: number, partRows: number[]): RoundPlan {
  const workers = partRows.length;
  const total = partRows.reduce((s, n) => s + n, 0);
  const b = Math.min(batchSize, total);
  if (b < workers) throw new UserError(`train.batch_size ${batchSize} is one round's batch over all ${workers} workers: it must be at least ${workers}`, { key: 'train.batch_size' });
  const batch = sliceRanges(b, workers).map(([s, e], w) => Math.max(1, Math.min(e - s, partRows[w]!)));
  const rounds = Math.max(...partRows.map((n, w) => Math.ceil(n / batch[w]!)));
  return { batch, partRows, rounds };
}

/** Rows worker `w` trains in round `r` of an epoch. */
export function workerRoundRows(p: RoundPlan, w: number, r: number): number {
  return Math.max(0, Math.min(p.batch[w]!, p.partRows[w]! - r * p.batch[w]!));
}

/** Rows all workers train in round `r` of an epoch: the n of the weights n_k / n. */
export function roundRows(p: RoundPlan, r: number): number {
  let n = 0;
  for (let w = 0; w < p.partRows.length; w++) n += workerRoundRows(p, w, r);
  return n;
}
