import { UserError } from '../errors.js';
import type { EarlyStoppingConfig } from '../config/types.js';
import { higherIsBetter, type FlatMetrics } from '../eval/evaluate.js';
import type { EpochRecord } from './epoch-record.js';
import { snapshotModel } from './snapshot.js';
import type { TrainingRun } from './training-run.js';

/**
 * The validation metric a run stops on: `metric`, or `fallback_metric` when the validation split
 * holds fewer than `min_conversions` conversions (the same split every epoch, so one metric per run).
 */
export function stoppingMetric(es: EarlyStoppingConfig, valid: FlatMetrics): string {
  if (es.fallback_metric === undefined) return es.metric;
  return (valid.conversions ?? 0) < (es.min_conversions ?? 0) ? es.fallback_metric : es.metric;
}

/**
 * train.early_stopping after a validated epoch: a better score makes it the best epoch (its
 * weights are snapshotted, to be restored at the end); `patience` epochs without one stop the run.
 * Returns true when the run should stop. Without early stopping or validation metrics: false.
 */
export function earlyStop(run: TrainingRun, record: EpochRecord): boolean {
  const es = run.config.train.early_stopping;
  if (es === undefined || record.valid === undefined) return false;
  const metric = stoppingMetric(es, record.valid);
  const score = record.valid[metric];
  if (score === undefined) throw new UserError(`unknown early-stopping metric; available: ${Object.keys(record.valid).join(', ')}`, { key: 'train.early_stopping.metric' });
  const pos = run.pos;
  const better = pos.best === null || (higherIsBetter(metric) ? score > pos.best.score : score < pos.best.score);
  if (better) {
    pos.best = { epoch: record.epoch, score };
    // The last epoch's weights are the model's own: no snapshot (a second copy of every table,
    // which for a streamed run with millions of ids is the largest thing held), and an older one is dropped.
    run.best = record.epoch >= run.config.train.epochs ? undefined : snapshotModel(run.model);
    pos.sinceBest = 0;
    return false;
  }
  return ++pos.sinceBest >= es.patience;
}
