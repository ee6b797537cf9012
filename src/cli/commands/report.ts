import { writeReport } from '../../report/index.js';
import { log, parseFlags, requireFlag } from '../args.js';
import { checkOutputFile } from '../../util/output-path.js';

/** esmm report --model DIR [--compare FILE] [--data FILE] --out report.html */
export async function reportCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('report', argv, {
    model: { type: 'string' },
    compare: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
  });
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
