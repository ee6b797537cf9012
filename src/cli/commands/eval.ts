import { DEFAULT_TASK_NAMES, taskNames } from '../../data/task-names.js';
import { loadModel } from '../../models/persist.js';
import { readForModel } from '../../api/read-for-model.js';
import { evaluateModel } from '../../api/evaluate-model.js';
import { metricsJson, printTable } from '../../report/table.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { log, requireFlag } from '../args.js';
import { checkOutputFile } from '../../util/output-path.js';
import { defineCommand, parseCommand } from '../flags.js';
import { MODEL_DIR_FLAG, dataFileFlag, jsonFileFlag } from '../common-flags.js';

export const EVAL_SPEC = defineCommand({
  name: 'eval',
  summary: 'AUC, GAUC, logloss and calibration per task of a saved model on a labelled file',
  usage: ['eval --model DIR --data FILE [--json FILE] [--skip-invalid]'],
  description: 'Score a labelled file with a saved model and print AUC, GAUC, logloss and calibration per task, each on its named space (all impressions, or clicked rows only).',
  flags: {
    model: MODEL_DIR_FLAG,
    data: dataFileFlag('labelled rows'),
    json: jsonFileFlag('also write the metrics as flat JSON'),
    'skip-invalid': { type: 'boolean', help: "skip (and count) rows with a bad label instead of stopping; on by default for a model trained with data.skip_invalid" },
  },
  examples: ['eval --model runs/esmm --data test.csv --json eval.json'],
});

/** esmm eval: a table on stdout, flat JSON to FILE. */
export async function evalCommand(argv: string[]): Promise<number> {
  const values = parseCommand(EVAL_SPEC, argv)?.values;
  if (values === undefined) return 0;
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
  const names = taskNames(model.config.schema);
  process.stdout.write(`${printTable({ [model.spec.name]: metrics }, names)}\n\n`);
  // Named tasks: say which metric keys below belong to which name.
  if (names.cvr !== DEFAULT_TASK_NAMES.cvr) process.stdout.write(`tasks: ${Object.entries(names).filter(([k]) => k !== 'action' || metrics.auc_action !== undefined).map(([k, n]) => `${k} = ${n}`).join(', ')}\n`);
  // Counts (rows, groups_*, clicked_rows, conversions) print as integers, scores with six decimals.
  const isCount = (k: string): boolean => k === 'rows' || k === 'clicked_rows' || k === 'conversions' || k.startsWith('groups_');
  process.stdout.write(`${Object.entries(metrics).map(([k, v]) => `${k.padEnd(30)} ${!Number.isFinite(v) ? 'n/a' : isCount(k) ? Math.round(v).toLocaleString('en-US') : v.toFixed(6)}`).join('\n')}\n`);
  if (values.json !== undefined) {
    writeFileAtomic(values.json, metricsJson({ ...metrics, ...(skipInvalid ? { skipped_rows: stats.skipped } : {}) }));
    log(`metrics written to ${values.json}`);
  }
  await model.release();
  return 0;
}
