import { join } from 'node:path';
import { trainAndEvaluate } from '../../api/pipeline.js';
import { printTable } from '../../report/table.js';
import { formatProgress } from '../../train/progress.js';
import { writeReport } from '../../report/index.js';
import { log, parseFlags } from '../args.js';
import { TRAINING_FLAGS } from '../overrides.js';
import { PRESET_FLAGS, trainingConfig } from '../training-config.js';

/** esmm train --config FILE|NAME [--out DIR] [--epochs N] [--batch-size N] [--lr X] [--model NAME] [--report FILE] [--streaming] [--memory-budget 2GB] */
export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('train', argv, {
    ...TRAINING_FLAGS,
    ...PRESET_FLAGS,
    model: { type: 'string' },
    resume: { type: 'boolean' },
  });
  const config = await trainingConfig('train', values);
  const outDir = values.out ?? join('runs', config.model.name);
  const quiet = values.quiet === true;
  // SIGINT: finish the current step, write a checkpoint, exit 130. A second SIGINT exits at once.
  let stopRequested = false;
  const onSigint = (): void => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    log('\ninterrupt: writing a checkpoint after this step (resume with --resume)');
  };
  process.on('SIGINT', onSigint);
  const run = await trainAndEvaluate(config, {
    outDir,
    log,
    resume: values.resume === true,
    shouldStop: () => stopRequested,
    ...(quiet ? {} : { onProgress: (p) => process.stderr.write(`\r${formatProgress(p)}`) }),
    onEpoch: (r) => {
      if (!quiet) process.stderr.write('\n');
      const v = r.valid;
      log(`epoch ${r.epoch}: train loss ${r.train.loss?.toFixed(5)}${v !== undefined ? `  valid auc_ctr ${v.auc_ctr?.toFixed(4)} auc_ctcvr ${v.auc_ctcvr?.toFixed(4)} auc_cvr_clicked ${v.auc_cvr_clicked?.toFixed(4)}` : ''}  ${Math.round(r.samplesPerSecond)} samples/s`);
    },
  });
  process.off('SIGINT', onSigint);
  if (run.result.interrupted) {
    log(`stopped at step ${run.result.stepLoss.length}; checkpoint in ${join(outDir, 'checkpoint')}`);
    return 130;
  }
  if (run.result.resumedFromStep > 0) log(`resumed from step ${run.result.resumedFromStep}`);
  const { metrics, evaluatedOn } = run;
  process.stdout.write(`${printTable({ [`${config.model.name} (${evaluatedOn})`]: metrics })}\n`);
  log(`model written to ${outDir}/ (metrics in ${join(outDir, 'metrics.json')})`);
  if (values.report !== undefined) {
    const { out, charts } = await writeReport({ modelDir: outDir }, values.report);
    log(`report (${charts} charts) written to ${out}`);
  }
  return 0;
}
