import type { EncodedChunk } from '../data/batch.js';
import { rowsToRawChunk, type CellValue } from '../data/rows.js';
import type { EsmmConfig } from '../config/types.js';
import type { FeatureSpec } from '../features/spec.js';
import { encodeModel } from '../graph/onnx.js';
import { GraphSession } from '../runtime/session.js';
import { batchView } from './batch-view.js';
import { Serial } from '../util/serial.js';
import { buildModelGraph, type ModelGraph, type PredictionName } from './build-graph.js';
import type { EmbeddingSet } from './embeddings.js';
import { FeedBuilder } from './feeds.js';
import type { FeatureLayout } from './layout.js';
import type { FunnelModelSpec } from './funnel-spec.js';
import type { Calibration } from './calibration/calibrator.js';
import { calibratePredictions } from './calibration/apply.js';

/** One row's probabilities. */
export type RowPrediction = { pctr: number; pcvr: number; pctcvr: number; paction?: number };

/** Probabilities for every row: pCTR, pCVR, pCTCVR (and ESM2's pAction). */
export type Predictions = Partial<Record<PredictionName, Float32Array>> & { pctr: Float32Array; pcvr: Float32Array; pctcvr: Float32Array };

const PREDICT_BATCH = 8192;

/**
 * A funnel model with its state: dense parameters, embedding tables and the FeatureSpec that maps
 * raw values to ids. Predicts on encoded chunks with a forward-only ONNX graph (params fed as
 * inputs, so the same session serves while training continues).
 */
export class FunnelModel {
  private inference: { mg: ModelGraph; session: GraphSession; feeds: FeedBuilder } | undefined;
  private readonly serial = new Serial();
  /** Post-hoc calibration (train.calibration), fitted after training; applied to every prediction. */
  calibration: Calibration | undefined;

  constructor(
    readonly config: EsmmConfig,
    readonly spec: FunnelModelSpec,
    readonly layout: FeatureLayout,
    readonly features: FeatureSpec,
    readonly params: Map<string, Float32Array>,
    readonly embeddings: EmbeddingSet,
  ) {}

  /** Names of the probabilities this model outputs. */
  get predictionNames(): PredictionName[] {
    return (['pctr', 'pcvr', 'pctcvr', 'paction'] as const).filter((p) => this.spec.outputs[p] !== undefined);
  }

  private async inferenceSession(): Promise<{ mg: ModelGraph; session: GraphSession; feeds: FeedBuilder }> {
    if (this.inference === undefined) {
      const mg = buildModelGraph(this.spec, this.layout, this.config.model, { training: false, seed: this.config.train.seed });
      const session = await GraphSession.create(encodeModel(mg.graph, { paramsAs: 'inputs' }), threadOpts(this.config.train.threads));
      this.inference = { mg, session, feeds: new FeedBuilder(mg, PREDICT_BATCH) };
    }
    return this.inference;
  }

  /** Predict every row of an encoded chunk, in order. Overlapping calls run one after the other (shared buffers). */
  predictEncoded(chunk: EncodedChunk): Promise<Predictions> {
    return this.serial.run(async () => {
      const raw = await this.predictNow(chunk);
      return this.calibration === undefined ? raw : calibratePredictions(raw, this.calibration);
    });
  }

  /** Predictions without the post-hoc calibration (what the calibration is fitted on). */
  predictUncalibrated(chunk: EncodedChunk): Promise<Predictions> {
    return this.serial.run(() => this.predictNow(chunk));
  }

  private async predictNow(chunk: EncodedChunk): Promise<Predictions> {
    const { mg, session, feeds } = await this.inferenceSession();
    if (chunk.rows <= PREDICT_BATCH && chunk.rows > 0) {
      // One run: ORT's output arrays are returned as they are, no copy.
      const result = await session.run(feeds.build(batchView(chunk, 0, chunk.rows), this.embeddings, this.params), mg.predictions);
      return Object.fromEntries(mg.predictions.map((p) => [p, result[p]!])) as Predictions;
    }
    const out = Object.fromEntries(mg.predictions.map((p) => [p, new Float32Array(chunk.rows)])) as Predictions;
    for (let start = 0; start < chunk.rows; start += PREDICT_BATCH) {
      const end = Math.min(chunk.rows, start + PREDICT_BATCH);
      const result = await session.run(feeds.build(batchView(chunk, start, end), this.embeddings, this.params), mg.predictions);
      for (const p of mg.predictions) out[p]!.set(result[p]!.subarray(0, end - start), start);
    }
    return out;
  }

  /**
   * Score raw rows (column -> value, as in the training file; label columns not needed).
   * Unseen categorical values map to the out-of-vocabulary id.
   */
  async predict(rows: Record<string, CellValue>[]): Promise<RowPrediction[]> {
    const raw = rowsToRawChunk(rows, this.config.schema, { labelsOptional: true });
    const pred = await this.predictEncoded(this.features.transform(raw));
    const names = this.predictionNames;
    return rows.map((_, i) => Object.fromEntries(names.map((n) => [n, pred[n]![i]!])) as RowPrediction);
  }

  /** Forward-only ONNX bytes with the current parameters baked in as initializers. */
  inferenceOnnx(metadata: Record<string, string> = {}): Uint8Array {
    // Uncalibrated: the Scorer applies the calibration in TypeScript; `esmm export` appends it as nodes.
    const mg = buildModelGraph(this.spec, this.layout, this.config.model, { training: false, seed: this.config.train.seed });
    return encodeModel(mg.graph, { paramsAs: 'initializers', paramValues: this.params, metadata });
  }

  async release(): Promise<void> {
    if (this.inference !== undefined) await this.inference.session.release();
    this.inference = undefined;
  }
}

export function threadOpts(threads: number | undefined): { intraOpThreads?: number } {
  return threads === undefined ? {} : { intraOpThreads: threads };
}
