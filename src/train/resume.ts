import { UserError } from '../errors.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { TrainingRun } from './training-run.js';

/**
 * Continue a run from the checkpoint in `dir`: weights, dense optimizer, embedding tables, the best
 * epoch's snapshot, the loop position, the dropout RNG and GradNorm's loss weights.
 */
export function resumeRun(run: TrainingRun, dir: string | undefined): void {
  if (dir === undefined || !hasCheckpoint(dir)) throw new UserError('no checkpoint to resume from', { file: dir ?? '(no --out)' });
  const ck = loadCheckpoint(dir, run.fingerprint);
  for (const [k, v] of ck.params) {
    const p = run.params.get(k);
    if (p === undefined || p.length !== v.length) throw new UserError(`checkpoint parameter '${k}' does not fit this model (${v.length} values); train again without --resume`, { file: dir });
    p.set(v);
  }
  run.step.optimizer.restore(ck.optimizer);
  for (const [g, ts] of ck.tables) run.embeddings.tables.set(g, ts);
  if (ck.best !== undefined) run.best = { params: ck.best.params, tables: ck.best.tables };
  run.pos = ck.position;
  run.step.dropoutRng.setState(run.pos.dropoutState);
  // The guard sees the earlier steps too (a checkpoint from before guardLoss existed has only the totals).
  (run.pos.guardLoss ?? run.pos.stepLoss).forEach((l, i) => run.spikes.observe(i + 1, l));
  if (run.pos.lossWeights !== undefined) run.step.setLossWeightState(run.pos.lossWeights);
}

/** Write the run's checkpoint into `dir` (the dropout RNG and GradNorm state go into the position first). */
export async function saveRunCheckpoint(run: TrainingRun, dir: string): Promise<void> {
  const { pos, step, best } = run;
  pos.dropoutState = step.dropoutRng.getState();
  const lossWeights = step.getLossWeightState();
  if (lossWeights !== undefined) pos.lossWeights = lossWeights;
  await saveCheckpoint(dir, {
    position: pos, params: run.params, optimizer: step.optimizer.state(), tables: run.embeddings.tables, fingerprint: run.fingerprint,
    ...(best !== undefined ? { best: { params: best.params, tables: best.tables } } : {}),
  });
}
