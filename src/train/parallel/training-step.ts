import type { EsmmConfig } from '../../config/types.js';
import type { Batch } from '../../data/batch-assembler.js';
import type { ModelGraph } from '../../models/build-graph.js';
import type { EmbeddingSet } from '../../models/embeddings.js';
import type { Rng } from '../../util/random.js';
import type { GradNormState } from '../gradnorm.js';
import type { DenseOptimizerHandle } from '../graph-adam.js';
import { TrainStep, type StepLosses, type TrainStepOptions } from '../step.js';
import type { StepTimings } from '../step-timings.js';
import { ShardedTrainStep } from './sharded-step.js';

/** What a training run needs of its step: TrainStep (1 worker) and ShardedTrainStep (N) both have it. */
export interface TrainingStep {
  run(batch: Batch): Promise<StepLosses>;
  release(): Promise<void>;
  readonly optimizer: DenseOptimizerHandle;
  readonly dropoutRng: Rng;
  getLossWeightState(): GradNormState | undefined;
  setLossWeightState(s: GradNormState): void;
  timings: StepTimings;
  resetTimings(): void;
}

/**
 * The step for `train.workers`: 1 (the default) is today's TrainStep, untouched (bit-identical);
 * N > 1 the data-parallel step with row-sharded shared-memory tables (sharded-step.ts).
 */
export async function createTrainingStep(mg: ModelGraph, params: Map<string, Float32Array>, embeddings: EmbeddingSet, config: EsmmConfig, maxBatch: number, opts: TrainStepOptions = {}): Promise<TrainingStep> {
  const workers = config.train.workers ?? 1;
  if (workers <= 1) return TrainStep.create(mg, params, embeddings, config, maxBatch, opts);
  if (opts.externalDense === true) throw new Error('externalDense is a TrainStep option (one worker thread)');
  return ShardedTrainStep.create(mg, params, embeddings, config, maxBatch, workers);
}
