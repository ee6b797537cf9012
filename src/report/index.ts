export { writeReport } from './write-report.js';
export { gatherReportData } from './report-data.js';
export type { ReportData, ReportInputs } from './report-data.js';
export { renderReportHtml } from './html.js';
export { computeCurves, CURVES_VERSION } from './curves.js';
export type { CurvesData, TaskCurves, FunnelStage } from './curves.js';
