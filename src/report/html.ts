/**
 * One self-contained HTML page: uPlot's iife build and stylesheet inlined, the report data
 * inlined as JSON, tables rendered here, charts drawn by the inlined client script. Nothing is
 * fetched at view time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CLIENT_JS } from './client.js';
import type { ReportData } from './report-data.js';

const require = createRequire(import.meta.url);

function uplotAssets(): { js: string; css: string } {
  return {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
}

export function renderReportHtml(data: ReportData): string {
  const { js, css } = uplotAssets();
  const charts = chartIds(data);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(data.title)}</title>
<style>${css}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
<h1>${esc(data.title)}</h1>
<p class="meta">model directory <code>${esc(data.model.dir)}</code>${data.model.created !== undefined ? `, trained ${esc(data.model.created)}` : ''}; report generated ${esc(data.generated)}.</p>
${data.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
${summarySection(data)}
${section('Loss curves', 'Mean training loss per epoch and validation log loss per task (history.json).', charts.loss)}
${section('ROC curves', `Per task, each on its named space; from ${esc(data.curvesSource ?? 'n/a')}.`, charts.roc)}
${section('Calibration', 'Reliability per task: mean predicted probability vs observed rate in equal-count bins.', charts.cal)}
${funnelSection(data, charts.funnel)}
${comparisonSection(data)}
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${js}</script>
<script>${CLIENT_JS}</script>
</body>
</html>
`;
}

function chartIds(data: ReportData): { loss: string[]; roc: string[]; cal: string[]; funnel: string[] } {
  const loss = data.history === null ? [] : [...data.history.losses.map((l) => `loss_${l.task}`), ...(data.history.stepLoss.length > 0 ? ['step_loss'] : [])];
  const tasks = data.curves?.tasks ?? [];
  return {
    loss,
    roc: tasks.filter((t) => t.roc !== null).map((t) => `roc_${t.task}`),
    cal: tasks.filter((t) => t.calibration.bins.length > 0).map((t) => `cal_${t.task}`),
    funnel: data.curves === null ? [] : ['funnel'],
  };
}

function section(title: string, caption: string, ids: string[]): string {
  if (ids.length === 0) return `<h2>${esc(title)}</h2><p class="note">no data for this section</p>`;
  return `<h2>${esc(title)}</h2><p>${caption}</p><div class="grid">${ids.map((id) => `<div class="chart" data-chart="${id}"></div>`).join('')}</div>`;
}

function summarySection(data: ReportData): string {
  const m = data.model.metrics;
  if (m === undefined) return '';
  const keys = ['auc_ctr', 'auc_cvr_clicked', 'auc_ctcvr', 'auc_cvr_entire_space', 'gauc_ctcvr', 'logloss_ctcvr', 'calibration_ctcvr'].filter((k) => typeof m[k] === 'number');
  return `<h2>Summary</h2><p>${esc(data.model.name)} evaluated on the ${esc(data.model.evaluatedOn ?? '?')} split.</p>
<table><tr>${keys.map((k) => `<th>${esc(k)}</th>`).join('')}</tr><tr>${keys.map((k) => `<td>${fmt(m[k]!)}</td>`).join('')}</tr></table>`;
}

function funnelSection(data: ReportData, ids: string[]): string {
  const f = data.curves?.funnel;
  if (f === undefined) return section('Funnel', '', []);
  const rows = f.map((s, i) => {
    const prev = i > 0 ? f[i - 1]! : undefined;
    const cond = (a: number, b: number | undefined): string => (b === undefined || b === 0 ? '' : fmt(a / b));
    return `<tr><td>${esc(s.stage)}</td><td>${fmt(s.observed)}</td><td>${fmt(s.predicted)}</td><td>${cond(s.observed, prev?.observed)}</td><td>${cond(s.predicted, prev?.predicted)}</td><td>${s.observed > 0 ? fmt(s.predicted / s.observed) : ''}</td></tr>`;
  });
  return `${section('Funnel', `Share of impressions reaching each stage on ${esc(data.curvesSource ?? 'n/a')} (${data.curves!.rows} rows): observed vs mean predicted.`, ids)}
<table><tr><th>stage</th><th>observed rate</th><th>predicted rate</th><th>observed | previous stage</th><th>predicted | previous stage</th><th>predicted / observed</th></tr>${rows.join('')}</table>`;
}

function comparisonSection(data: ReportData): string {
  const c = data.comparison;
  if (c === null) return '';
  const best = c.columns.map((col, j) => {
    const vals = c.rows.map((r) => r.values[j]).filter((v): v is number => v !== null);
    if (vals.length === 0 || !/^(auc|gauc)/.test(col.key)) return undefined;
    return Math.max(...vals);
  });
  const body = c.rows.map((r) => `<tr><td>${esc(r.model)}</td>${r.values.map((v, j) => `<td${v !== null && v === best[j] ? ' class="best"' : ''}>${v === null ? '' : fmt(v)}</td>`).join('')}</tr>`);
  return `<h2>Model comparison</h2><p>From <code>esmm compare --json</code>${c.evaluatedOn !== undefined ? `, evaluated on the ${esc(c.evaluatedOn)} split` : ''}; best AUC per column in bold.</p>
<div class="wide"><table id="comparison"><tr><th>model</th>${c.columns.map((col) => `<th>${esc(col.title)}</th>`).join('')}</tr>${body.join('')}</table></div>`;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(3);
  return v.toFixed(4);
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** JSON safe inside <script>: no '</script', no HTML comment openers, no U+2028/2029. */
function jsonForScript(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const PAGE_CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1120px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
.meta, .note { color: #666; } .note { font-style: italic; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { width: 520px; min-height: 340px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; } td.best { font-weight: bold; }
code { background: #f4f4f4; padding: 1px 4px; }
.wide { overflow-x: auto; }
`;
