import { featureSpecFileOf, writeExport } from '../../export/index.js';
import { loadModel } from '../../models/persist.js';
import { checkOutputFile } from '../../util/output-path.js';
import { log, requireFlag } from '../args.js';
import { defineCommand, parseCommand } from '../flags.js';
import { MODEL_DIR_FLAG, fileFlag } from '../common-flags.js';

export const EXPORT_SPEC = defineCommand({
  name: 'export',
  summary: 'one ONNX file for serving outside esmm: feature ids in, probabilities out',
  usage: ['export --model DIR --out FILE.onnx [--split-features]'],
  description: 'Write the forward graph with its embedding tables as one self-contained ONNX file that any ONNX Runtime (Python, Java, C++, C#, browsers) can load; the feature spec (raw values -> ids) goes in its metadata_props.',
  flags: {
    model: MODEL_DIR_FLAG,
    out: fileFlag('the ONNX file to write'),
    'split-features': { type: 'boolean', help: 'write the feature spec to FILE.features.json beside the ONNX file instead of into its metadata (published together: a mismatched pair is refused)' },
    'embed-features': { type: 'boolean', help: 'accepted for older scripts; embedding the feature spec is the default now' },
  },
  examples: ['export --model runs/esmm --out model.onnx'],
});

/** esmm export: see EXPORT_SPEC. */
export async function exportCommand(argv: string[]): Promise<number> {
  const values = parseCommand(EXPORT_SPEC, argv)?.values;
  if (values === undefined) return 0;
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
