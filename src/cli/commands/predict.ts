import { loadModel } from '../../models/persist.js';
import { readForModel } from '../read-for-model.js';
import { oovLine } from '../../api/pipeline.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { log, requireFlag } from '../args.js';
import { defineCommand, parseCommand } from '../flags.js';

export const PREDICT_SPEC = defineCommand({
  name: 'predict',
  summary: 'pCTR, pCVR and pCTCVR for every row of a file',
  usage: ['predict --model DIR --data FILE --out FILE.csv'],
  description: 'Score every row of a file with a saved model and write a CSV with one line per input row: pctr,pcvr,pctcvr (and paction for ESM2). Labels are not needed.',
  flags: {
    model: { type: 'string', value: 'DIR', default: 'required', help: 'a model directory written by esmm train' },
    data: { type: 'string', value: 'FILE', default: 'required', help: "rows to score (CSV, TSV, JSONL or Parquet; a preset model reads its preset's format)" },
    out: { type: 'string', value: 'FILE', default: 'required', help: 'the CSV to write' },
  },
  examples: ['predict --model runs/esmm --data new.csv --out pred.csv'],
});

/** esmm predict: CSV `pctr,pcvr,pctcvr[,paction]`, one row per input row. */
export async function predictCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(PREDICT_SPEC, argv);
  if (parsed === undefined) return 0;
  const { values } = parsed;
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
  const oov = oovLine(stats.oov, data.rows);
  if (oov !== undefined) log(`out-of-vocabulary (values unseen in training, scored with the OOV id): ${oov}`);
  log(`${data.rows} predictions written to ${out}`);
  await model.release();
  return 0;
}

function formatProb(p: number): string {
  return p.toPrecision(7);
}
