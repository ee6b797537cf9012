import type { EsmmConfig } from '../config/types.js';
import type { FlatMetrics } from '../eval/evaluate.js';
import { funnelSpec } from '../models/registry.js';
import { UserError } from '../errors.js';
import { loadData } from './load-data.js';
import { prepareLogged, trainAndEvaluate, type RunOptions } from './pipeline.js';

export interface CompareResult {
  /** Metrics per model on the same evaluation split. */
  metrics: Record<string, FlatMetrics>;
  evaluatedOn: string;
  seconds: Record<string, number>;
}

/**
 * Train each named model on the same rows with the same features and seed, and score them on the
 * same split (the ESMM paper's Table 1 protocol).
 */
export async function compareModels(config: EsmmConfig, models: string[], opts: Omit<RunOptions, 'prepared' | 'outDir'> & { outDir?: (model: string) => string | undefined } = {}): Promise<CompareResult> {
  for (const m of models) funnelSpec(m, config.schema); // fail fast on an unknown model or missing labels
  if (models.length === 0) throw new UserError('no models to compare');
  const data = await loadData(config.data, config.schema, { baseDir: config.baseDir, source: config.source, ...(opts.log !== undefined ? { log: opts.log } : {}) });
  const features = prepareLogged(config, data, opts.log);
  const out: CompareResult = { metrics: {}, evaluatedOn: '', seconds: {} };
  for (const name of models) {
    opts.log?.(`training ${name} (${models.indexOf(name) + 1} of ${models.length})`);
    const t0 = performance.now();
    const cfg: EsmmConfig = { ...config, model: { ...config.model, name } };
    const dir = opts.outDir?.(name);
    const { outDir: _outDirFn, ...rest } = opts;
    const r = await trainAndEvaluate(cfg, { ...rest, prepared: { data, features }, ...(dir !== undefined ? { outDir: dir } : {}) });
    await r.result.model.release();
    out.metrics[name] = r.metrics;
    out.evaluatedOn = r.evaluatedOn;
    out.seconds[name] = (performance.now() - t0) / 1000;
  }
  return out;
}
