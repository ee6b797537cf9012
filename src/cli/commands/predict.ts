import { loadModel } from '../../models/persist.js';
import { readForModel } from '../../api/read-for-model.js';
import { readKeptColumns } from '../../datasets/read-with-preset.js';
import { writePredictions, type OutputColumn } from '../../data/write-predictions.js';
import { UserError } from '../../errors.js';
import { log, requireFlag } from '../args.js';
import { defineCommand, parseCommand } from '../flags.js';
import { MODEL_DIR_FLAG, dataFileFlag, fileFlag } from '../common-flags.js';
import { oovLine } from '../../api/pipeline.js';
import { checkOutputFile } from '../../util/output-path.js';

export const PREDICT_SPEC = defineCommand({
  name: 'predict',
  summary: 'pCTR, pCVR and pCTCVR for every row of a file',
  usage: ['predict --model DIR --data FILE --out FILE.csv|FILE.parquet [--keep COL,COL]'],
  description: 'Score every row of a file with a saved model and write one line per input row: pctr,pcvr,pctcvr (and paction for ESM2), plus the --keep columns; Parquet when FILE ends in .parquet, else CSV. Labels are never needed nor read.',
  flags: {
    model: MODEL_DIR_FLAG,
    data: dataFileFlag('rows to score'),
    out: fileFlag('the CSV (or .parquet) to write; never the --data file'),
    keep: { type: 'string', value: 'COL,COL', default: 'none', help: 'input columns to pass through, so results can be joined back' },
  },
  examples: ['predict --model runs/esmm --data new.csv --out pred.csv', 'predict --model runs/esmm --data new.parquet --out scored.parquet --keep user_id,item_id'],
});

/** esmm predict: CSV `pctr,pcvr,pctcvr[,paction]`, one row per input row. */
export async function predictCommand(argv: string[]): Promise<number> {
  const values = parseCommand(PREDICT_SPEC, argv)?.values;
  if (values === undefined) return 0;
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
  const oov = oovLine(stats.oov, data.rows);
  if (oov !== undefined) log(`out-of-vocabulary (values unseen in training, scored with the OOV id): ${oov}`);
  log(`${data.rows} predictions written to ${out}`);
  await model.release();
  return 0;
}
