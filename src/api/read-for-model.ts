import type { RawChunk } from '../data/batch.js';
import type { ReadStats } from '../data/reader.js';
import { readForModel as readWithModel } from '../datasets/read-with-preset.js';
import type { FunnelModel } from '../models/model.js';
import { checkInputFile } from '../util/input-path.js';

/**
 * Read a file to score with a model: through the model's preset when it was trained with one,
 * with its header-less column names, and (predict) without reading labels at all.
 */
export async function readForModel(model: FunnelModel, file: string, opts: { purpose: 'predict' | 'eval'; skipInvalid?: boolean }): Promise<{ data: RawChunk; stats: ReadStats }> {
  checkInputFile(file, 'a data file', { key: '--data' });
  return readWithModel(model.config, file, opts);
}
