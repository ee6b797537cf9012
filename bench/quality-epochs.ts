/**
 * Per-epoch scoring for bench/quality.ts --per-epoch N: each model trains N epochs without early
 * stopping, the test split is scored after every epoch (from the same run), and the default run is
 * replayed from that history: the built-in config's epochs and early-stopping rule (metric,
 * patience) applied to the per-epoch validation metrics give the epoch the defaults keep. With no
 * schedule that depends on the number of epochs (there is none), epochs 1..E of the N-epoch run are
 * the default E-epoch run's epochs, so its kept epoch's test metrics are the default's.
 */
import type { EsmmConfig } from '../src/config/types.js';
import { higherIsBetter, evaluatePredictions, type FlatMetrics } from '../src/eval/evaluate.js';
import { loadData } from '../src/api/load-data.js';
import { prepareLogged, trainAndEvaluate } from '../src/api/pipeline.js';

export interface EpochScores {
  epoch: number;
  valid: FlatMetrics;
  test: FlatMetrics;
}

export interface ModelEpochs {
  model: string;
  epochs: EpochScores[];
  seconds: number;
}

/** Train every model for `epochs` epochs (no early stopping) on the same rows, scoring test after each epoch. */
export async function trainPerEpoch(config: EsmmConfig, models: string[], epochs: number): Promise<ModelEpochs[]> {
  const data = await loadData(config.data, config.schema, { baseDir: config.baseDir, source: config.source });
  const features = prepareLogged(config, data);
  const test = features.test;
  if (test === undefined) throw new Error('--per-epoch needs a test split');
  const out: ModelEpochs[] = [];
  for (const name of models) {
    const { early_stopping: _off, ...train } = config.train;
    const cfg: EsmmConfig = { ...config, model: { ...config.model, name }, train: { ...train, epochs } };
    const scores: EpochScores[] = [];
    const t0 = performance.now();
    const r = await trainAndEvaluate(cfg, {
      prepared: { data, features },
      onEpoch: async (record, model) => {
        scores.push({ epoch: record.epoch, valid: record.valid ?? {}, test: evaluatePredictions(test, await model.predictEncoded(test)) });
      },
    });
    await r.result.model.release();
    out.push({ model: name, epochs: scores, seconds: (performance.now() - t0) / 1000 });
  }
  return out;
}

/**
 * The epoch a run with train.epochs = `epochs` and this early-stopping rule keeps, replayed on
 * per-epoch validation metrics exactly as train/early-stopping.ts judges them (first best wins;
 * `patience` epochs without a better score stop the run). Without early stopping: the last epoch.
 */
export function replayKeptEpoch(history: EpochScores[], epochs: number, es: { metric: string; patience: number } | undefined): number {
  const n = Math.min(epochs, history.length);
  if (es === undefined) return n;
  let best: { epoch: number; score: number } | null = null;
  let since = 0;
  for (const h of history.slice(0, n)) {
    const score = h.valid[es.metric];
    if (score === undefined) throw new Error(`no validation ${es.metric} in epoch ${h.epoch}`);
    const better = best === null || (higherIsBetter(es.metric) ? score > best.score : score < best.score);
    if (better) {
      best = { epoch: h.epoch, score };
      since = 0;
    } else if (++since >= es.patience) break;
  }
  return best?.epoch ?? n;
}

/** The epoch (1-based) with the highest value of a test metric. */
export function bestEpochBy(history: EpochScores[], key: string): number {
  let best = history[0]!;
  for (const h of history) if ((h.test[key] ?? -Infinity) > (best.test[key] ?? -Infinity)) best = h;
  return best.epoch;
}
