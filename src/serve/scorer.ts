/**
 * A scorer for serving: a frozen copy of a FunnelModel's forward graph with the dense parameters
 * baked in as initializers (ORT can prepack them), one intra-op thread by default (single-row
 * latency; run several processes for throughput), input buffers allocated once and reused.
 * Embedding lookups stay in JavaScript (the model's tables, shared, not copied).
 *
 *   const scorer = await Scorer.create(await loadModel(dir));
 *   const [p] = await scorer.predict([{ user_id: 'u1', item_id: 'i9', ... }]);
 *
 * The parameters are snapshotted at create time: a model still training needs a new Scorer.
 */
import type { EncodedChunk } from '../data/batch.js';
import { rowsToRawChunk, type CellValue } from '../data/rows.js';
import { buildModelGraph, type ModelGraph } from '../models/build-graph.js';
import { batchView } from '../models/batch-view.js';
import { FeedBuilder } from '../models/feeds.js';
import type { FunnelModel, Predictions, RowPrediction } from '../models/model.js';
import { GraphSession } from '../runtime/session.js';
import { Serial } from '../util/serial.js';
import { calibratePredictions } from '../models/calibration/apply.js';

export interface ScorerOptions {
  /** ORT intra-op threads (default 1). */
  threads?: number;
  /** Rows per ORT run; larger requests are split (default 1024). */
  maxBatch?: number;
  /** Name used in error messages for posted rows (default '<rows>'). */
  source?: string;
}

export class Scorer {
  private readonly serial = new Serial();

  private constructor(
    readonly model: FunnelModel,
    private readonly mg: ModelGraph,
    private readonly session: GraphSession,
    private readonly feeds: FeedBuilder,
    private readonly maxBatch: number,
    private readonly source: string,
  ) {}

  static async create(model: FunnelModel, opts: ScorerOptions = {}): Promise<Scorer> {
    const mg = buildModelGraph(model.spec, model.layout, model.config.model, { training: false, seed: model.config.train.seed });
    const session = await GraphSession.create(model.inferenceOnnx(), { intraOpThreads: opts.threads ?? 1 });
    const maxBatch = opts.maxBatch ?? 1024;
    return new Scorer(model, mg, session, new FeedBuilder(mg, maxBatch), maxBatch, opts.source ?? '<rows>');
  }

  get predictionNames(): FunnelModel['predictionNames'] {
    return this.model.predictionNames;
  }

  /** Raw rows (column -> value; labels not needed) to probabilities. Bad values throw a UserError naming row and column. */
  async predict(rows: Record<string, CellValue>[]): Promise<RowPrediction[]> {
    if (rows.length === 0) return [];
    const raw = rowsToRawChunk(rows, this.model.config.schema, { labelsOptional: true, source: this.source });
    return this.toRows(await this.predictEncoded(this.model.features.transform(raw)), rows.length);
  }

  /** Like predict, plus per row the categorical fields whose value was unseen in training. */
  async predictWithUnseen(rows: Record<string, CellValue>[]): Promise<{ predictions: RowPrediction[]; unseen: string[][] }> {
    if (rows.length === 0) return { predictions: [], unseen: [] };
    const raw = rowsToRawChunk(rows, this.model.config.schema, { labelsOptional: true, source: this.source });
    const pred = await this.predictEncoded(this.model.features.transform(raw));
    return { predictions: this.toRows(pred, rows.length), unseen: this.model.features.unseenFields(raw) };
  }

  private toRows(pred: Predictions, n: number): RowPrediction[] {
    const names = this.predictionNames;
    const out: RowPrediction[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const r: Record<string, number> = {};
      for (const name of names) r[name] = pred[name]![i]!;
      out[i] = r as RowPrediction;
    }
    return out;
  }

  /** Predict every row of an encoded chunk. Overlapping calls run one after the other (shared buffers). */
  predictEncoded(chunk: EncodedChunk): Promise<Predictions> {
    return this.serial.run(() => this.predictNow(chunk));
  }

  private async predictNow(chunk: EncodedChunk): Promise<Predictions> {
    const { mg, session, feeds, model } = this;
    const out = Object.fromEntries(mg.predictions.map((p) => [p, new Float32Array(chunk.rows)])) as Predictions;
    for (let start = 0; start < chunk.rows; start += this.maxBatch) {
      const end = Math.min(chunk.rows, start + this.maxBatch);
      const result = await session.run(feeds.build(batchView(chunk, start, end), model.embeddings, model.params), mg.predictions);
      for (const p of mg.predictions) out[p]!.set(result[p]!.subarray(0, end - start), start);
    }
    return model.calibration === undefined ? out : calibratePredictions(out, model.calibration);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
