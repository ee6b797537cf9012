import { featureSpecFileOf, writeExport } from '../../export/index.js';
import { loadModel } from '../../models/persist.js';
import { checkOutputFile } from '../../util/output-path.js';
import { log, parseFlags, requireFlag } from '../args.js';

/**
 * esmm export --model DIR --out model.onnx [--split-features]: one self-contained ONNX file over
 * feature ids, the FeatureSpec (raw value -> id) in its metadata; --split-features writes the spec
 * to model.features.json beside it instead. (--embed-features, the old opt-in, is the default now.)
 */
export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('export', argv, {
    model: { type: 'string' },
    out: { type: 'string' },
    'split-features': { type: 'boolean' },
    'embed-features': { type: 'boolean' },
  });
  const modelDir = requireFlag('export', values.model, 'model');
  const out = requireFlag('export', values.out, 'out');
  const split = values['split-features'] === true;
  checkOutputFile(out, '--out');
  if (split) checkOutputFile(featureSpecFileOf(out), '--out (its features file)');
  const model = await loadModel(modelDir);
  const { files, result } = writeExport(model, out, { splitFeatures: split });
  log(`exported ${model.spec.name} to ${out} (${(result.onnx.byteLength / 1e6).toFixed(1)} MB)`);
  log(`inputs: ${result.inputs.map((i) => `${i.name} ${i.dtype}[${i.shape.join(',')}]`).join(', ')}`);
  log(`outputs: ${result.outputs.join(', ')} (float32 [batch, 1])`);
  log(files.length > 1 ? `feature spec (raw values -> ids) written to ${files[1]}` : 'feature spec (raw values -> ids) embedded in metadata_props (esmm_feature_spec)');
  await model.release();
  return 0;
}
