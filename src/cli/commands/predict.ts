import { loadModel } from '../../models/persist.js';
import { readForModel } from '../../api/read-for-model.js';
import { readKeptColumns } from '../../datasets/read-with-preset.js';
import { writePredictions, type OutputColumn } from '../../data/write-predictions.js';
import { UserError } from '../../errors.js';
import { log, parseFlags, requireFlag } from '../args.js';
import { checkOutputFile } from '../../util/output-path.js';

/**
 * esmm predict --model DIR --data FILE --out FILE [--keep COL,COL]: `pctr,pcvr,pctcvr[,paction]`
 * plus the kept columns, one row per input row; Parquet when FILE ends in .parquet, else CSV.
 * Labels are never needed nor read.
 */
export async function predictCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('predict', argv, { model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, keep: { type: 'string' } });
  const modelDir = requireFlag('predict', values.model, 'model');
  const file = requireFlag('predict', values.data, 'data');
  const out = requireFlag('predict', values.out, 'out');
  checkOutputFile(out, '--out', [{ path: file, flag: '--data' }]);
  const model = await loadModel(modelDir);
  const keep = values.keep === undefined ? [] : values.keep.split(',').map((k) => k.trim()).filter((k) => k !== '');
  if (values.keep !== undefined && keep.length === 0) throw new UserError('--keep expects column names separated by commas');
  const names = model.predictionNames;
  const clash = keep.find((k) => (names as readonly string[]).includes(k));
  if (clash !== undefined) throw new UserError(`--keep column '${clash}' has the name of a prediction column`);
  const { data } = await readForModel(model, file, { purpose: 'predict' });
  const stats = { oov: {} as Record<string, number> };
  const pred = await model.predictEncoded(model.features.transform(data, stats));
  for (const n of names) {
    // Never write a NaN: the model's values were validated on load, so this is a corrupted model.
    const bad = pred[n]!.findIndex((p) => !Number.isFinite(p));
    if (bad >= 0) throw new UserError(`the model gives ${n} = ${pred[n]![bad]} for data row ${bad + 1}; it is corrupted, retrain it`, { file: modelDir });
  }
  const columns: OutputColumn[] = names.map((n) => ({ name: n, values: pred[n]! }));
  if (keep.length > 0) {
    const kept = await readKeptColumns(model.config, file, keep);
    if (kept[0]!.length !== data.rows) throw new Error(`--keep read ${kept[0]!.length} rows but ${data.rows} were scored`);
    keep.forEach((name, j) => columns.push({ name, values: kept[j]! }));
  }
  await writePredictions(out, columns, data.rows);
  const oov = Object.entries(stats.oov).filter(([, n]) => n > 0).map(([f, n]) => `${f}: ${n}`);
  if (oov.length > 0) log(`unseen values mapped to the out-of-vocabulary id: ${oov.join(', ')}`);
  log(`${data.rows} predictions written to ${out}`);
  await model.release();
  return 0;
}
