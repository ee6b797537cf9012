import { loadModel } from '../../models/persist.js';
import { readForModel } from '../../api/read-for-model.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { log, parseFlags, requireFlag } from '../args.js';

/** esmm predict --model DIR --data FILE --out FILE: CSV `pctr,pcvr,pctcvr[,paction]`, one row per input row. */
export async function predictCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('predict', argv, { model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' } });
  const model = await loadModel(requireFlag('predict', values.model, 'model'));
  const file = requireFlag('predict', values.data, 'data');
  const out = requireFlag('predict', values.out, 'out');
  const data = await readForModel(model, file, { labelsOptional: true });
  const stats = { oov: {} as Record<string, number> };
  const pred = await model.predictEncoded(model.features.transform(data, stats));
  const names = model.predictionNames;
  const lines: string[] = [names.join(',')];
  for (let i = 0; i < data.rows; i++) lines.push(names.map((n) => formatProb(pred[n]![i]!)).join(','));
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
