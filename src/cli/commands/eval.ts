import { loadModel } from '../../models/persist.js';
import { readForModel } from '../../api/read-for-model.js';
import { evaluateModel } from '../../api/evaluate-model.js';
import { metricsJson, printTable } from '../../report/table.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { log, parseFlags, requireFlag } from '../args.js';
import { checkOutputFile } from '../../util/output-path.js';

/**
 * esmm eval --model DIR --data FILE [--json FILE] [--skip-invalid]: a table on stdout, flat JSON
 * to FILE. Rows with a bad label are skipped (and counted) when the model was trained with
 * data.skip_invalid or --skip-invalid is given.
 */
export async function evalCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('eval', argv, { model: { type: 'string' }, data: { type: 'string' }, json: { type: 'string' }, 'skip-invalid': { type: 'boolean' } });
  const modelDir = requireFlag('eval', values.model, 'model');
  const file = requireFlag('eval', values.data, 'data');
  if (values.json !== undefined) checkOutputFile(values.json, '--json', [{ path: file, flag: '--data' }]);
  const model = await loadModel(modelDir);
  const skipInvalid = values['skip-invalid'] === true || model.config.data.skip_invalid === true;
  const { data, stats } = await readForModel(model, file, { purpose: 'eval', skipInvalid });
  if (skipInvalid) {
    const reasons = Object.entries(stats.skippedByReason).map(([r, n]) => `${r}: ${n}`);
    log(`skipped ${stats.skipped} of ${stats.rows} rows${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}`);
  }
  const metrics = await evaluateModel(model, data);
  process.stdout.write(`${printTable({ [model.spec.name]: metrics })}\n\n`);
  process.stdout.write(`${Object.entries(metrics).map(([k, v]) => `${k.padEnd(30)} ${Number.isFinite(v) ? v.toFixed(6) : 'n/a'}`).join('\n')}\n`);
  if (values.json !== undefined) writeFileAtomic(values.json, metricsJson({ ...metrics, ...(skipInvalid ? { skipped_rows: stats.skipped } : {}) }));
  await model.release();
  return 0;
}
