import { writeExport } from '../../export/index.js';
import { loadModel } from '../../models/persist.js';
import { log, requireFlag } from '../args.js';
import { defineCommand, parseCommand } from '../flags.js';

export const EXPORT_SPEC = defineCommand({
  name: 'export',
  summary: 'one ONNX file for serving outside esmm: feature ids in, probabilities out',
  usage: ['export --model DIR --out FILE.onnx [--embed-features]'],
  description: 'Write the forward graph with its embedding tables as one ONNX file that any ONNX Runtime (Python, Java, C++, C#, browsers) can load.',
  flags: {
    model: { type: 'string', value: 'DIR', default: 'required', help: 'a model directory written by esmm train' },
    out: { type: 'string', value: 'FILE', default: 'required', help: 'the ONNX file to write' },
    'embed-features': { type: 'boolean', help: "put the feature spec (raw values -> ids) in the ONNX file's metadata_props instead of a file beside it" },
  },
  examples: ['export --model runs/esmm --out model.onnx'],
});

/** esmm export: see EXPORT_SPEC. */
export async function exportCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(EXPORT_SPEC, argv);
  if (parsed === undefined) return 0;
  const { values } = parsed;
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
