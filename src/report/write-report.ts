import { writeFileAtomic } from '../util/atomic.js';
import { renderReportHtml } from './html.js';
import { gatherReportData, type ReportInputs } from './report-data.js';

/** Gather a model's report data and write the self-contained HTML page to `out`. */
export async function writeReport(inputs: ReportInputs, out: string): Promise<{ out: string; charts: number }> {
  const data = await gatherReportData(inputs);
  const html = renderReportHtml(data);
  writeFileAtomic(out, html);
  return { out, charts: (html.match(/class="chart" data-chart="/g) ?? []).length };
}
