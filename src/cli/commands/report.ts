import { writeReport } from '../../report/index.js';
import { log, requireFlag } from '../args.js';
import { checkOutputFile } from '../../util/output-path.js';
import { defineCommand, parseCommand } from '../flags.js';
import { MODEL_DIR_FLAG, fileFlag } from '../common-flags.js';

export const REPORT_SPEC = defineCommand({
  name: 'report',
  summary: 'one self-contained HTML report: loss curves, ROC, PR, calibration, funnel',
  usage: ['report --model DIR [--data FILE] [--compare FILE] --out FILE.html'],
  description: 'Write one HTML file (charts inlined, no network needed) about a saved model: training curves, ROC and PR curves, calibration and the funnel, on its evaluation split or on --data.',
  flags: {
    model: MODEL_DIR_FLAG,
    data: fileFlag('labelled rows to draw the curves and summary from', "the model's evaluation split"),
    compare: fileFlag('a JSON file written by esmm compare --json, shown as a table', 'none'),
    out: fileFlag('the HTML file to write'),
  },
  examples: ['report --model runs/esmm --out report.html'],
});

/** esmm report: see REPORT_SPEC. */
export async function reportCommand(argv: string[]): Promise<number> {
  const values = parseCommand(REPORT_SPEC, argv)?.values;
  if (values === undefined) return 0;
  const target = requireFlag('report', values.out, 'out');
  checkOutputFile(target, '--out', [
    ...(values.data !== undefined ? [{ path: values.data, flag: '--data' }] : []),
    ...(values.compare !== undefined ? [{ path: values.compare, flag: '--compare' }] : []),
  ]);
  const { out, charts } = await writeReport(
    {
      modelDir: requireFlag('report', values.model, 'model'),
      ...(values.compare !== undefined ? { compareFile: values.compare } : {}),
      ...(values.data !== undefined ? { dataFile: values.data } : {}),
    },
    requireFlag('report', values.out, 'out'),
  );
  log(`report with ${charts} charts written to ${out}`);
  return 0;
}
