import { taskNames } from '../../data/task-names.js';
import { join } from 'node:path';
import { trainAndEvaluate } from '../../api/pipeline.js';
import { printTable } from '../../report/table.js';
import { formatEpochLine, showProgress, TrainTicker } from '../progress-line.js';
import { writeReport } from '../../report/index.js';
import { log } from '../args.js';
import { defineCommand, parseCommand } from '../flags.js';
import { MODEL_NAMES } from '../../models/registry.js';
import { TRAINING_FLAGS } from '../overrides.js';
import { PRESET_FLAGS, trainingConfig } from '../training-config.js';
import { assertModelOutDir } from '../../models/persist.js';
import { checkOutputDir, checkOutputFile } from '../../util/output-path.js';
import { UserError } from '../../errors.js';
import { parseWorker } from '../../distributed/worker-trainer.js';
import { connectCluster, parseRedisUrl } from '../../distributed/redis-store.js';

/** --store / --worker / --run-id as the pipeline's distributed options (undefined without --store). */
function distributedFlags(v: { store?: string | undefined; worker?: string | undefined; 'run-id'?: string | undefined; resume?: boolean | undefined }, model: string): { store: string; worker: number; workers: number; runId: string; resume: boolean } | undefined {
  if (v.store === undefined) {
    if (v.worker !== undefined || v['run-id'] !== undefined) throw new UserError('--worker and --run-id need --store redis://host:port');
    return undefined;
  }
  parseRedisUrl(v.store);
  const { worker, workers } = parseWorker(v.worker ?? '0/1');
  return { store: v.store, worker, workers, runId: v['run-id'] ?? model, resume: v.resume === true };
}

export const TRAIN_SPEC = defineCommand({
  name: 'train',
  summary: 'train a model; writes DIR/ (model, checkpoints) and DIR/metrics.json',
  usage: ['train --config FILE|NAME [options]', 'train --preset NAME --train FILE [--valid FILE] [--test FILE] [options]'],
  description:
    'Train one model on the data a config names (or a public dataset read through a preset), evaluate it on the test split (else valid, else train) and print one table.\n\n' +
    'A checkpoint is written every train.checkpoint_every steps and at each epoch end; Ctrl-C stops after writing one, and --resume continues to the same final weights.',
  flags: {
    ...TRAINING_FLAGS,
    ...PRESET_FLAGS,
    model: { type: 'string', value: 'NAME', default: "the config's model.name", help: `model to train: ${MODEL_NAMES.join(', ')}` },
    resume: { type: 'boolean', help: 'continue from the checkpoint in --out' },
    force: { type: 'boolean', help: 'write into a non-empty folder that is not an esmm model (files esmm did not write are never replaced or deleted)' },
    store: { type: 'string', value: 'URL', default: 'none (tables in this process)', help: 'keep the embedding tables in a Redis Cluster (redis://host:port of any node); with --worker, several processes or hosts train one model (docs/distributed.md)' },
    worker: { type: 'string', value: 'I/N', default: '0/1', help: 'with --store: this process is worker I of N; it reads and trains on its own share of the training files (simulated data: rows with index mod N == I); worker 0 writes the model' },
    'run-id': { type: 'string', value: 'NAME', default: 'the model name', help: 'with --store: names this run\'s keys in the store (all workers of a run share it)' },
  },
  examples: ['train --config esmm --out runs/esmm --epochs 1 --rows 50000', 'train --preset adult --train adult.data --test adult.test --out runs/adult'],
});

/** esmm train: see TRAIN_SPEC. */
export async function trainCommand(argv: string[]): Promise<number> {
  const values = parseCommand(TRAIN_SPEC, argv)?.values;
  if (values === undefined) return 0;
  // Outputs are checked before any work (preset preparation, data loading, training).
  const force = values.force === true;
  const checkOut = (dir: string): void => {
    checkOutputDir(dir, '--out');
    assertModelOutDir(dir, force);
  };
  if (values.out !== undefined) checkOut(values.out);
  if (values.report !== undefined) checkOutputFile(values.report, '--report');
  const config = await trainingConfig('train', values);
  const outDir = values.out ?? join('runs', config.model.name);
  if (values.out === undefined) checkOut(outDir);
  const quiet = values.quiet === true;
  const ticker = new TrainTicker();
  // SIGINT: finish the current step, write a checkpoint, exit 130. A second SIGINT exits at once.
  let stopRequested = false;
  const onSigint = (): void => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    log('\ninterrupt: writing a checkpoint after this step (resume with --resume)');
  };
  process.on('SIGINT', onSigint);
  const distributed = distributedFlags(values, config.model.name);
  // An unreachable store fails here, in one line, before any data is read.
  if (distributed !== undefined) await (await connectCluster(distributed.store)).quit();
  const run = await trainAndEvaluate(config, {
    ...(distributed !== undefined ? { distributed } : {}),
    outDir,
    log,
    resume: values.resume === true,
    force,
    shouldStop: () => stopRequested,
    ...(quiet ? {} : { onProgress: (p) => showProgress(ticker.line(p)) }),
    onEpoch: (r) => log(formatEpochLine(r, config.train.epochs, '', taskNames(config.schema))),
  });
  process.off('SIGINT', onSigint);
  if (distributed !== undefined && run.result.interrupted) return 130; // the worker said how to resume
  if (distributed !== undefined && distributed.worker !== 0) {
    log(`worker ${distributed.worker}/${distributed.workers} finished; worker 0 writes the model`);
    return 0;
  }
  if (run.result.interrupted) {
    log(`stopped at step ${run.result.stepLoss.length}; checkpoint in ${join(outDir, 'checkpoint')}`);
    return 130;
  }
  if (run.result.resumedFromStep > 0) log(`resumed from step ${run.result.resumedFromStep}`);
  const { metrics, evaluatedOn } = run;
  process.stdout.write(`${printTable({ [`${config.model.name} (${evaluatedOn})`]: metrics }, taskNames(config.schema))}\n`);
  log(`model written to ${outDir}/ (metrics in ${join(outDir, 'metrics.json')}, curves in ${join(outDir, 'curves.json')})`);
  if (values.report !== undefined) {
    const { out, charts } = await writeReport({ modelDir: outDir }, values.report);
    log(`report (${charts} charts) written to ${out}`);
  }
  return 0;
}
