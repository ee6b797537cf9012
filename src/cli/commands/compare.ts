import { taskNames } from '../../data/task-names.js';
import { join } from 'node:path';
import { compareModels } from '../../api/compare.js';
import { metricsJson, printTable } from '../../report/table.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { formatEpochLine, showProgress, TrainTicker } from '../progress-line.js';
import { writeReport } from '../../report/index.js';
import { log } from '../args.js';
import { defineCommand, parseCommand } from '../flags.js';
import { jsonFileFlag } from '../common-flags.js';
import { MODEL_NAMES } from '../../models/registry.js';
import { TRAINING_FLAGS } from '../overrides.js';
import { PRESET_FLAGS, trainingConfig } from '../training-config.js';
import { assertModelOutDir } from '../../models/persist.js';
import { checkOutputDir, checkOutputFile } from '../../util/output-path.js';
import { runTempDir } from '../../util/run-temp.js';

const DEFAULT_MODELS = 'esmm,esm2,naive_cvr,division,esmm_ns';

export const COMPARE_SPEC = defineCommand({
  name: 'compare',
  summary: 'train several models on the same rows and seed; one table',
  usage: ['compare --config FILE|NAME [--models a,b,c] [options]', 'compare --preset NAME --train FILE [--test FILE] [--models a,b,c] [options]'],
  description: "Train each model on the same rows, features and seed and score them on the same split (the ESMM paper's Table 1 protocol).",
  flags: {
    ...TRAINING_FLAGS,
    out: { type: 'string', value: 'DIR', default: 'models are not kept (a temp dir with --report)', help: 'write each model to DIR/<model>' },
    ...PRESET_FLAGS,
    models: { type: 'string', value: 'a,b,c', default: DEFAULT_MODELS, help: `comma-separated models, of: ${MODEL_NAMES.join(', ')}` },
    json: jsonFileFlag('also write the metrics of every model as JSON'),
  },
  examples: ['compare --config esmm --models esmm,esm2,naive_cvr --rows 50000 --epochs 1 --json cmp.json'],
});

/** esmm compare: see COMPARE_SPEC. */
export async function compareCommand(argv: string[]): Promise<number> {
  const values = parseCommand(COMPARE_SPEC, argv)?.values;
  if (values === undefined) return 0;
  if (values.json !== undefined) checkOutputFile(values.json, '--json');
  if (values.report !== undefined) checkOutputFile(values.report, '--report');
  if (values.out !== undefined) checkOutputDir(values.out, '--out');
  const models = (values.models ?? DEFAULT_MODELS).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (values.out !== undefined) for (const m of models) assertModelOutDir(join(values.out, m), false);
  const config = await trainingConfig('compare', values);
  // A report needs a saved model for its curves: without --out, models go to a temp dir removed at exit.
  const out = values.out ?? (values.report !== undefined ? runTempDir('compare') : undefined);
  const ticker = new TrainTicker();
  const result = await compareModels(config, models, {
    log,
    ...(values.quiet === true ? {} : { onProgress: (p) => showProgress(ticker.line(p)) }),
    onEpoch: (r) => log(formatEpochLine(r, config.train.epochs, '  ', taskNames(config.schema))),
    ...(out !== undefined ? { outDir: (m: string) => join(out, m) } : {}),
  });
  process.stdout.write(`\nevaluated on the ${result.evaluatedOn} split\n${printTable(result.metrics, taskNames(config.schema))}\n${secondsLine(result.seconds)}\n`);
  if (values.out !== undefined) log(`models written to ${models.map((m) => join(values.out!, m)).join(', ')}`);
  if (values.json !== undefined) {
    // The same spelling as metrics.json (evaluated_on); training seconds per model for the report.
    writeFileAtomic(values.json, metricsJson({ evaluated_on: result.evaluatedOn, metrics: result.metrics, seconds: result.seconds }));
    log(`comparison written to ${values.json}`);
  }
  if (values.report !== undefined && out !== undefined) {
    const main = models.includes('esmm') ? 'esmm' : models[0]!;
    const { out: file, charts } = await writeReport(
      {
        modelDir: join(out, main),
        comparison: { metrics: result.metrics, evaluatedOn: result.evaluatedOn, seconds: result.seconds },
        compareDirs: Object.fromEntries(models.map((m) => [m, join(out, m)])),
      },
      values.report,
    );
    log(`report (${charts} charts; curves of ${main}, table of all models) written to ${file}`);
  }
  return 0;
}

/** "training time: esmm 12.3 s, esm2 20.1 s" (reading and encoding the data once are not included). */
export function secondsLine(seconds: Record<string, number>): string {
  return `training time: ${Object.entries(seconds).map(([m, s]) => `${m} ${s.toFixed(1)} s`).join(', ')}`;
}
