import { writeExport } from '../../export/index.js';
import { loadModel } from '../../models/persist.js';
import { log, parseFlags, requireFlag } from '../args.js';

/** esmm export --model DIR --out model.onnx [--embed-features]: one self-contained ONNX file over feature ids. */
export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('export', argv, {
    model: { type: 'string' },
    out: { type: 'string' },
    'embed-features': { type: 'boolean' },
  });
  const model = await loadModel(requireFlag('export', values.model, 'model'));
  const out = requireFlag('export', values.out, 'out');
  const { files, result } = writeExport(model, out, { embedFeatureSpec: values['embed-features'] === true });
  log(`exported ${model.spec.name} to ${out} (${(result.onnx.byteLength / 1e6).toFixed(1)} MB)`);
  log(`inputs: ${result.inputs.map((i) => `${i.name} ${i.dtype}[${i.shape.join(',')}]`).join(', ')}`);
  log(`outputs: ${result.outputs.join(', ')} (float32 [batch, 1])`);
  log(files.length > 1 ? `feature spec (raw values -> ids) written to ${files[1]}` : 'feature spec embedded in metadata_props (esmm_feature_spec)');
  await model.release();
  return 0;
}
