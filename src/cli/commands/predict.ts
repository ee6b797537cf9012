import { loadModel } from '../../models/persist.js';
import { readForModel } from '../read-for-model.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { log, parseFlags, requireFlag } from '../args.js';
import { UserError } from '../../errors.js';
import { checkOutputFile } from '../../util/output-path.js';

/** esmm predict --model DIR --data FILE --out FILE: CSV `pctr,pcvr,pctcvr[,paction]`, one row per input row. */
export async function predictCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('predict', argv, { model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' } });
  const modelDir = requireFlag('predict', values.model, 'model');
  const file = requireFlag('predict', values.data, 'data');
  const out = requireFlag('predict', values.out, 'out');
  checkOutputFile(out, '--out', [{ path: file, flag: '--data' }]);
  const model = await loadModel(modelDir);
  const data = await readForModel(model, file, { labelsOptional: true });
  const stats = { oov: {} as Record<string, number> };
  const pred = await model.predictEncoded(model.features.transform(data, stats));
  const names = model.predictionNames;
  const lines: string[] = [names.join(',')];
  for (let i = 0; i < data.rows; i++) {
    for (const n of names) {
      // Never write a NaN: the model's values were validated on load, so this is a corrupted model.
      if (!Number.isFinite(pred[n]![i]!)) throw new UserError(`the model gives ${n} = ${pred[n]![i]} for data row ${i + 1}; it is corrupted, retrain it`, { file: modelDir });
    }
    lines.push(names.map((n) => formatProb(pred[n]![i]!)).join(','));
  }
  writeFileAtomic(out, `${lines.join('\n')}\n`);
  const oov = Object.entries(stats.oov).filter(([, n]) => n > 0).map(([f, n]) => `${f}: ${n}`);
  if (oov.length > 0) log(`unseen values mapped to the out-of-vocabulary id: ${oov.join(', ')}`);
  log(`${data.rows} predictions written to ${out}`);
  await model.release();
  return 0;
}

function formatProb(p: number): string {
  return p.toPrecision(7);
}
