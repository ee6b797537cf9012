/**
 * A model directory loaded for serving: the FunnelModel, its frozen Scorer and what GET /model
 * reports (schema, version, metrics). Requests in flight hold a reference, so a reload can
 * release the old model only once they are done.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { loadModel } from '../models/persist.js';
import type { FunnelModel } from '../models/model.js';
import { Scorer } from './scorer.js';

export interface ModelInfo {
  model: string;
  description: string;
  /** The model directory's own name: /model never reveals absolute paths of the serving host. */
  model_dir: string;
  /** sha256 (first 16 hex digits) of model.json: changes whenever the model does. */
  version: string;
  created?: string;
  format_version?: number;
  loaded_at: string;
  outputs: string[];
  schema: unknown;
  features: {
    categorical: { name: string; size: number; encoding: string }[];
    multi_valued: { name: string; size: number; encoding: string }[];
    numeric: string[];
  };
  metrics?: unknown;
}

export class LoadedModel {
  private inFlight = 0;
  private retired = false;

  private constructor(
    readonly model: FunnelModel,
    readonly scorer: Scorer,
    readonly info: ModelInfo,
  ) {}

  static async load(dir: string, threads?: number): Promise<LoadedModel> {
    const model = await loadModel(dir);
    const scorer = await Scorer.create(model, { ...(threads !== undefined ? { threads } : {}), source: 'request' });
    const manifestText = readFileSync(join(dir, 'model.json'), 'utf8');
    const manifest = JSON.parse(manifestText) as { created?: string; version?: number };
    const metricsPath = join(dir, 'metrics.json');
    const info: ModelInfo = {
      model: model.spec.name,
      description: model.spec.description,
      model_dir: basename(resolve(dir)),
      version: createHash('sha256').update(manifestText).digest('hex').slice(0, 16),
      ...(manifest.created !== undefined ? { created: manifest.created } : {}),
      ...(manifest.version !== undefined ? { format_version: manifest.version } : {}),
      loaded_at: new Date().toISOString(),
      outputs: model.predictionNames,
      schema: model.config.schema,
      features: {
        categorical: model.features.categoricalFields.map((f) => ({ name: f.name, size: f.size, encoding: f.encoding })),
        multi_valued: model.features.multiValuedFields.map((f) => ({ name: f.name, size: f.size, encoding: f.encoding })),
        numeric: model.features.numericFields,
      },
      ...(existsSync(metricsPath) ? { metrics: readMetrics(metricsPath) } : {}),
    };
    return new LoadedModel(model, scorer, info);
  }

  /** Run `f` with this model, keeping it alive until `f` settles. */
  async use<T>(f: (m: LoadedModel) => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await f(this);
    } finally {
      this.inFlight--;
      if (this.retired && this.inFlight === 0) await this.release();
    }
  }

  /** Stop serving: release now, or when the last request in flight finishes. */
  async retire(): Promise<void> {
    this.retired = true;
    if (this.inFlight === 0) await this.release();
  }

  private released = false;
  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.scorer.release();
    await this.model.release();
  }
}

function readMetrics(path: string): unknown {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const { history: _h, ...rest } = m; // per-epoch history is long; /model keeps the summary
    return withoutAbsolutePaths(rest);
  } catch {
    return undefined;
  }
}

/** Absolute paths (data files, output folders) in metrics become their base names. */
function withoutAbsolutePaths(v: unknown): unknown {
  if (typeof v === 'string') return isAbsolute(v) || /^[A-Za-z]:[\\/]/.test(v) ? basename(v) : v;
  if (Array.isArray(v)) return v.map(withoutAbsolutePaths);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutAbsolutePaths(x)]));
  return v;
}
