import { join } from 'node:path';
import { compareModels } from '../../api/compare.js';
import { metricsJson, printTable } from '../../report/table.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { formatProgress } from '../../train/progress.js';
import { writeReport } from '../../report/index.js';
import { log, parseFlags } from '../args.js';
import { TRAINING_FLAGS } from '../overrides.js';
import { PRESET_FLAGS, trainingConfig } from '../training-config.js';
import { assertModelOutDir } from '../../models/persist.js';
import { checkOutputDir, checkOutputFile } from '../../util/output-path.js';
import { runTempDir } from '../../util/run-temp.js';

/** esmm compare --config FILE --models esmm,esm2,naive_cvr,division,esmm_ns [--json FILE] [--out DIR] */
export async function compareCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('compare', argv, {
    ...TRAINING_FLAGS,
    ...PRESET_FLAGS,
    models: { type: 'string' },
    json: { type: 'string' },
  });
  if (values.json !== undefined) checkOutputFile(values.json, '--json');
  if (values.report !== undefined) checkOutputFile(values.report, '--report');
  if (values.out !== undefined) checkOutputDir(values.out, '--out');
  const models = (values.models ?? 'esmm,esm2,naive_cvr,division,esmm_ns').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (values.out !== undefined) for (const m of models) assertModelOutDir(join(values.out, m), false);
  const config = await trainingConfig('compare', values);
  // A report needs a saved model for its curves: without --out, models go to a temp dir removed at exit.
  const out = values.out ?? (values.report !== undefined ? runTempDir('compare') : undefined);
  const result = await compareModels(config, models, {
    log,
    ...(values.quiet === true ? {} : { onProgress: (p) => process.stderr.write(`\r${formatProgress(p)}`), onEpoch: () => process.stderr.write('\n') }),
    ...(out !== undefined ? { outDir: (m: string) => join(out, m) } : {}),
  });
  process.stdout.write(`\nevaluated on the ${result.evaluatedOn} split\n${printTable(result.metrics)}\n`);
  if (values.json !== undefined) {
    writeFileAtomic(values.json, metricsJson(result));
    log(`comparison written to ${values.json}`);
  }
  if (values.report !== undefined && out !== undefined) {
    const main = models.includes('esmm') ? 'esmm' : models[0]!;
    const { out: file, charts } = await writeReport({ modelDir: join(out, main), comparison: { metrics: result.metrics, evaluatedOn: result.evaluatedOn } }, values.report);
    log(`report (${charts} charts; curves of ${main}, table of all models) written to ${file}`);
  }
  return 0;
}
