import { loadModel } from '../../models/persist.js';
import { readForModel } from '../read-for-model.js';
import { evaluateModel } from '../../api/evaluate-model.js';
import { metricsJson, printTable } from '../../report/table.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { parseFlags, requireFlag } from '../args.js';
import { checkOutputFile } from '../../util/output-path.js';

/** esmm eval --model DIR --data FILE [--json FILE]: a table on stdout, flat JSON to FILE. */
export async function evalCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('eval', argv, { model: { type: 'string' }, data: { type: 'string' }, json: { type: 'string' } });
  const modelDir = requireFlag('eval', values.model, 'model');
  const file = requireFlag('eval', values.data, 'data');
  if (values.json !== undefined) checkOutputFile(values.json, '--json', [{ path: file, flag: '--data' }]);
  const model = await loadModel(modelDir);
  const data = await readForModel(model, file, { labelsOptional: false });
  const metrics = await evaluateModel(model, data);
  process.stdout.write(`${printTable({ [model.spec.name]: metrics })}\n\n`);
  process.stdout.write(`${Object.entries(metrics).map(([k, v]) => `${k.padEnd(30)} ${Number.isFinite(v) ? v.toFixed(6) : 'n/a'}`).join('\n')}\n`);
  if (values.json !== undefined) writeFileAtomic(values.json, metricsJson(metrics));
  await model.release();
  return 0;
}
