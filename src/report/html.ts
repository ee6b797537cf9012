/**
 * One self-contained HTML page: uPlot's iife build and stylesheet inlined, the report data
 * inlined as JSON, tables rendered here, charts drawn by the inlined client script. Nothing is
 * fetched at view time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CLIENT_JS } from './client.js';
import type { ReportData } from './report-data.js';
import { tableColumns } from './table.js';

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
<script>${ERROR_TRAP_JS}</script>
</head>
<body>
<h1>${esc(data.title)}</h1>
<p class="meta">${data.comparison !== null ? 'curves and run facts of' : 'model directory'} <code>${esc(data.model.dir)}</code>${data.model.created !== undefined ? `, trained ${esc(data.model.created)}` : ''}; report generated ${esc(data.generated)}.</p>
${data.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
${comparisonSection(data)}
${data.comparison !== null ? section('Models overlaid', 'ROC, precision-recall and reliability of every compared model on the same split (curves.json of each).', charts.overlay) : ''}
${summarySection(data)}
${section('Loss curves', 'Mean training loss per epoch and validation log loss per task (history.json); the marked epoch is the one whose weights were kept. Per-step loss: raw (grey) and smoothed.', charts.loss)}
${section('ROC and precision-recall curves', `Per task, each on its named space, ROC beside precision-recall (conversions are rare: PR shows what ROC hides); from ${esc(data.curvesSource ?? 'n/a')}.`, charts.roc)}
${section('Calibration', 'Reliability per task: mean predicted probability vs observed rate in equal-count bins.', charts.cal)}
${truthSection(data, charts.truth)}
${funnelSection(data, charts.funnel)}
${runSection(data)}
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${js}</script>
<script>${CLIENT_JS}</script>
</body>
</html>
`;
}

function chartIds(data: ReportData): { loss: string[]; roc: string[]; cal: string[]; funnel: string[]; truth: string[]; overlay: string[] } {
  const loss = data.history === null ? [] : [...data.history.losses.map((l) => `loss_${l.task}`), ...(data.history.stepLoss.length > 0 ? ['step_loss'] : [])];
  const all = data.curves?.tasks ?? [];
  const tasks = all.filter((t) => t.task !== 'cvr_truth');
  const truth = all.filter((t) => t.task === 'cvr_truth');
  const overlayTasks = ['ctr', 'cvr', 'ctcvr'].filter((task) => Object.values(data.modelCurves ?? {}).some((c) => c.tasks.some((t) => t.task === task && t.roc !== null)));
  return {
    loss,
    roc: tasks.filter((t) => t.roc !== null).flatMap((t) => [`roc_${t.task}`, `pr_${t.task}`]),
    cal: tasks.filter((t) => t.calibration.bins.length > 0).map((t) => `cal_${t.task}`),
    funnel: data.curves === null ? [] : ['funnel'],
    truth: truth.flatMap((t) => [...(t.roc !== null ? [`roc_${t.task}`, `pr_${t.task}`] : []), ...(t.calibration.bins.length > 0 ? [`cal_${t.task}`] : [])]),
    overlay: overlayTasks.flatMap((t) => [`ovl_roc_${t}`, `ovl_pr_${t}`, `ovl_cal_${t}`]),
  };
}

/** Entire-space pCVR against the simulator's truth columns, when the data carry them. */
function truthSection(data: ReportData, ids: string[]): string {
  if (ids.length === 0) return '';
  const m = data.model.metrics ?? {};
  const facts = [
    typeof m.auc_cvr_entire_space === 'number' ? `entire-space pCVR AUC against potential_buy ${fmt(m.auc_cvr_entire_space)}` : undefined,
    typeof m.calibration_cvr_entire_space === 'number' ? `mean pCVR / mean true_pcvr ${fmt(m.calibration_cvr_entire_space)} (1 is calibrated)` : undefined,
    typeof m.calibration_cvr_click_weighted === 'number' ? `the same weighted by true_pctr ${fmt(m.calibration_cvr_click_weighted)} (the part of pCVR's level that clicks and buys inform; the flat ratio also weighs impressions almost never clicked)` : undefined,
  ].filter((x): x is string => x !== undefined);
  return `${section('Ground truth (simulator)', `The data carry the simulator's truth: potential_buy (would this impression have converted if clicked) and true_pcvr. pCVR is scored on every impression, the space ESMM claims to model and no real log can check${facts.length > 0 ? `: ${facts.join('; ')}` : ''}.`, ids)}`;
}

/** Config, data sizes, OOV rates and training time. */
function runSection(data: ReportData): string {
  const r = data.run;
  const rows: [string, string][] = [];
  if (r.rows !== undefined) rows.push(['rows', Object.entries(r.rows).filter(([, n]) => typeof n === 'number').map(([k, n]) => `${k} ${n!.toLocaleString('en-US')}`).join(', ')]);
  if (r.trainSeconds !== undefined) rows.push(['training time', `${r.trainSeconds.toFixed(1)} s`]);
  if (r.bestEpoch !== undefined) rows.push(['epoch kept', `${r.bestEpoch}${r.stoppedEarly === true ? ' (early stop)' : ''}`]);
  for (const [split, oov] of Object.entries(r.oov ?? {})) {
    const n = r.rows?.[split];
    const parts = Object.entries(oov ?? {}).filter(([, c]) => c > 0).map(([f, c]) => `${f} ${typeof n === 'number' && n > 0 ? `${((100 * c) / n).toFixed(2)}% ` : ''}(${c.toLocaleString('en-US')})`);
    rows.push([`out-of-vocabulary, ${split}`, parts.length > 0 ? parts.join(', ') : 'none']);
  }
  for (const [split, skipped] of Object.entries(r.skippedRows ?? {})) {
    const parts = Object.entries(skipped ?? {}).map(([why, c]) => `${why.replaceAll('_', ' ')} ${c.toLocaleString('en-US')}`);
    if (parts.length > 0) rows.push([`rows skipped, ${split}`, parts.join(', ')]);
  }
  if (rows.length === 0 && r.config === undefined) return '';
  return `<h2>Run</h2><table class="facts">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
${r.config !== undefined ? `<details><summary>config</summary><pre>${esc(JSON.stringify(r.config, null, 2))}</pre></details>` : ''}`;
}

function section(title: string, caption: string, ids: string[]): string {
  if (ids.length === 0) return `<h2>${esc(title)}</h2><p class="note">no data for this section</p>`;
  return `<h2>${esc(title)}</h2><p>${caption}</p><div class="grid">${ids.map((id) => `<div class="chart" data-chart="${id}"></div>`).join('')}</div>`;
}

function summarySection(data: ReportData): string {
  const m = data.model.metrics;
  if (m === undefined) return '';
  const n = data.taskNames;
  const titles: Record<string, string> = { ...Object.fromEntries(tableColumns(n).map((c) => [c.key, c.title])), calibration_ctcvr: `p${n.ctcvr === 'CTCVR' ? 'CTCVR' : `(${n.ctcvr})`} mean / observed` };
  const keys = ['auc_ctr', 'auc_cvr_clicked', 'auc_ctcvr', 'auc_cvr_entire_space', 'gauc_ctcvr', 'logloss_ctcvr', 'calibration_ctcvr'].filter((k) => typeof m[k] === 'number');
  return `<h2>Summary</h2><p>${esc(data.model.name)} evaluated on the ${esc(data.model.evaluatedOn ?? '?')} split.</p>
<table><tr>${keys.map((k) => `<th>${esc(titles[k] ?? k)}</th>`).join('')}</tr><tr>${keys.map((k) => `<td>${fmt(m[k]!)}</td>`).join('')}</tr></table>`;
}

function funnelSection(data: ReportData, ids: string[]): string {
  const f = data.curves?.funnel;
  if (f === undefined) return section('Funnel', '', []);
  const rows = f.map((s, i) => {
    // Conditional on the stage's parent in the funnel (older curves.json: the previous row).
    const parent = s.parent !== undefined ? f.find((p) => p.stage === s.parent) : i > 0 ? f[i - 1] : undefined;
    const cond = (a: number, b: number | undefined): string => (b === undefined || b === 0 ? '' : fmt(a / b));
    const name = (stage: string): string => data.stageNames[stage] ?? stage;
    return `<tr><td>${esc(name(s.stage))}</td><td>${parent !== undefined ? esc(`${name(s.stage)} | ${name(parent.stage)}`) : ''}</td><td>${fmt(s.observed)}</td><td>${fmt(s.predicted)}</td><td>${cond(s.observed, parent?.observed)}</td><td>${cond(s.predicted, parent?.predicted)}</td><td>${s.observed > 0 ? fmt(s.predicted / s.observed) : ''}</td></tr>`;
  });
  return `${section('Funnel', `Share of impressions reaching each stage on ${esc(data.curvesSource ?? 'n/a')} (${data.curves!.rows} rows): observed vs mean predicted.`, ids)}
<table><tr><th>stage</th><th>conditional on</th><th>observed rate</th><th>predicted rate</th><th>observed, conditional</th><th>predicted, conditional</th><th>predicted / observed</th></tr>${rows.join('')}</table>`;
}

function comparisonSection(data: ReportData): string {
  const c = data.comparison;
  if (c === null) return '';
  // Best per column in its direction: AUCs higher, logloss and ECE lower, calibration ratios nearest 1.
  const best = c.columns.map((col, j) => {
    const vals = c.rows.map((r) => r.values[j]).filter((v): v is number => v !== null);
    if (vals.length < 2) return undefined;
    const score = (v: number): number => (/^(logloss|ece)/.test(col.key) ? -v : /^calibration/.test(col.key) ? -Math.abs(Math.log(v)) : v);
    return vals.reduce((a, b) => (score(b) > score(a) ? b : a));
  });
  const seconds = c.seconds;
  const body = c.rows.map((r) => `<tr><td>${esc(r.model)}</td>${r.values.map((v, j) => `<td${v !== null && v === best[j] ? ' class="best"' : ''}>${v === null ? '' : fmt(v)}</td>`).join('')}${seconds !== undefined ? `<td>${typeof seconds[r.model] === 'number' ? seconds[r.model]!.toFixed(1) : ''}</td>` : ''}</tr>`);
  return `<h2>Model comparison</h2><p>From <code>esmm compare</code>${c.evaluatedOn !== undefined ? `, evaluated on the ${esc(c.evaluatedOn)} split` : ''}. Best value per column in bold: higher AUC and GAUC, lower logloss and ECE, calibration ratio nearest 1.</p>
<table id="comparison" class="compare"><tr><th>model</th>${c.columns.map((col) => `<th>${esc(col.title)}</th>`).join('')}${seconds !== undefined ? '<th>training seconds</th>' : ''}</tr>${body.join('')}</table>`;
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

/** Runs before anything else: uncaught errors and console.error end up in <html data-console-errors>. */
const ERROR_TRAP_JS = `(function () {
  var errs = [];
  function note(m) { errs.push(String(m)); document.documentElement.setAttribute('data-console-errors', errs.join('; ')); }
  window.addEventListener('error', function (e) { note(e.message); });
  var orig = console.error;
  console.error = function () { note(Array.prototype.join.call(arguments, ' ')); return orig.apply(console, arguments); };
  window.addEventListener('load', function () {
    var d = document.documentElement;
    d.setAttribute('data-scroll-width', String(d.scrollWidth));
    d.setAttribute('data-client-width', String(d.clientWidth));
  });
})();`;

const PAGE_CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1120px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
.meta, .note { color: #666; } .note { font-style: italic; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { width: 520px; min-height: 340px; }
.grid > .chart:nth-child(odd):last-child { margin-right: auto; }
table.compare { font-size: 11px; } table.compare th, table.compare td { padding: 3px 4px; } table.compare th { white-space: normal; vertical-align: bottom; max-width: 72px; }
table.facts th { text-align: left; background: #fafafa; } table.facts td { text-align: left; }
pre { background: #f8f8f8; padding: 8px; overflow-x: auto; font-size: 12px; max-width: 100%; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; } td.best { font-weight: bold; }
code { background: #f4f4f4; padding: 1px 4px; }
.wide { overflow-x: auto; }
`;
