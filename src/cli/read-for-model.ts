import type { RawChunk } from '../data/batch.js';
import { readAll } from '../data/reader.js';
import { materializePreset } from '../datasets/materialize-preset.js';
import type { FunnelModel } from '../models/model.js';
import { runTempDir } from '../util/run-temp.js';

/**
 * Read a file to score with a model. A model trained with `--preset NAME` reads files in that
 * dataset's own format, so the same preset projection is applied first.
 */
export async function readForModel(model: FunnelModel, file: string, opts: { labelsOptional: boolean }): Promise<RawChunk> {
  let path = file;
  const preset = model.config.source.startsWith('preset:') ? model.config.source.slice('preset:'.length) : undefined;
  if (preset !== undefined) path = await materializePreset(preset, file, runTempDir('preset'));
  const { data } = await readAll(path, { schema: model.config.schema, labelsOptional: opts.labelsOptional });
  return data;
}
