import type { FlatMetrics } from '../eval/evaluate.js';
import { DEFAULT_TASK_NAMES, type TaskNames } from '../data/task-names.js';

/** One column of the result table; see tableColumns. */
export interface TableColumn {
  key: string;
  title: string;
  task: string;
  metric: string;
}

/**
 * The columns of the result table, ESMM paper Table 1 first (CVR AUC on clicks, CTCVR AUC), then
 * AUC and GAUC per task and the macro means. `task` and `metric` are the two header lines of the
 * console table; `title` is the one-line name (HTML report, JSON readers). Tasks are called by
 * the schema's task names (CTR/CVR/CTCVR by default); the keys never change.
 */
export function tableColumns(n: TaskNames = DEFAULT_TASK_NAMES): TableColumn[] {
  const named = n.cvr !== DEFAULT_TASK_NAMES.cvr;
  // The named conditional task ("never married | income") already says it is on clicked rows.
  const cvrClicked = named ? n.cvr : 'CVR clicked';
  const pcvr = named ? `p(${n.cvr})` : 'pCVR';
  const pctcvr = named ? `p(${n.ctcvr})` : 'pCTCVR';
  return [
    { key: 'auc_cvr_clicked', title: `${n.cvr} AUC (clicked)`, task: cvrClicked, metric: 'AUC' },
    { key: 'gauc_cvr_clicked', title: `${n.cvr} GAUC (clicked)`, task: cvrClicked, metric: 'GAUC' },
    { key: 'auc_ctcvr', title: `${n.ctcvr} AUC (all)`, task: n.ctcvr, metric: 'AUC' },
    { key: 'gauc_ctcvr', title: `${n.ctcvr} GAUC`, task: n.ctcvr, metric: 'GAUC' },
    { key: 'auc_ctr', title: `${n.ctr} AUC`, task: n.ctr, metric: 'AUC' },
    { key: 'gauc_ctr', title: `${n.ctr} GAUC`, task: n.ctr, metric: 'GAUC' },
    { key: 'auc_action', title: `${n.action} AUC (all)`, task: n.action, metric: 'AUC' },
    { key: 'gauc_action', title: `${n.action} GAUC`, task: n.action, metric: 'GAUC' },
    { key: 'auc_cvr_entire_space', title: `${n.cvr} AUC (entire space, truth)`, task: `${n.cvr} truth`, metric: 'AUC' },
    { key: 'auc_macro', title: 'AUC macro', task: 'macro', metric: 'AUC' },
    { key: 'gauc_macro', title: 'GAUC macro', task: 'macro', metric: 'GAUC' },
    { key: 'logloss_ctcvr', title: `${n.ctcvr} logloss`, task: n.ctcvr, metric: 'logloss' },
    { key: 'calibration_cvr_entire_space', title: `${pcvr} mean / true`, task: pcvr, metric: 'mean/true' },
    { key: 'calibration_ctcvr_entire_space', title: `${pctcvr} mean / true`, task: pctcvr, metric: 'mean/true' },
  ];
}

/** The columns with the default task names (CTR, CVR, CTCVR). */
export const TABLE_COLUMNS: TableColumn[] = tableColumns();

/** Console tables wrap their columns into blocks of at most this width (row names repeated). */
export const TABLE_WIDTH = 100;

/**
 * Render one or more metric sets as an aligned text table: one row per model (or split), one
 * column per metric with a two-line header (task over metric); columns absent from every row are
 * left out. Wider than TABLE_WIDTH, the columns continue in a second block below. A footnote gives
 * the number of groups each GAUC averaged over.
 */
export function printTable(metrics: FlatMetrics | Record<string, FlatMetrics>, names: TaskNames = DEFAULT_TASK_NAMES): string {
  const columns = tableColumns(names);
  const rows: [string, FlatMetrics][] = isFlat(metrics) ? [['model', metrics]] : Object.entries(metrics);
  const cols = columns.filter((c) => rows.some(([, m]) => m[c.key] !== undefined));
  const nameWidth = Math.max(5, ...rows.map(([n]) => n.length));
  const cells = cols.map((c) => {
    const values = rows.map(([, m]) => fmt(m[c.key]));
    return { c, values, width: Math.max(c.metric.length, ...values.map((v) => v.length)) };
  });
  // Adjacent columns of one task share its label on the first header line: widen the span's last
  // column when the label is longer than the span.
  for (let i = 0; i < cells.length; ) {
    let j = i;
    while (j + 1 < cells.length && cells[j + 1]!.c.task === cells[i]!.c.task) j++;
    const span = cells.slice(i, j + 1).reduce((w, cell) => w + cell.width, 2 * (j - i));
    if (cells[i]!.c.task.length > span) cells[j]!.width += cells[i]!.c.task.length - span;
    i = j + 1;
  }
  const blocks: (typeof cells)[] = [[]];
  let used = nameWidth;
  for (const cell of cells) {
    if (used + 2 + cell.width > TABLE_WIDTH && blocks.at(-1)!.length > 0) {
      blocks.push([]);
      used = nameWidth;
    }
    blocks.at(-1)!.push(cell);
    used += 2 + cell.width;
  }
  const out: string[] = [];
  for (const block of blocks) {
    if (out.length > 0) out.push('');
    let taskLine = ' '.repeat(nameWidth);
    for (let i = 0; i < block.length; ) {
      let j = i;
      while (j + 1 < block.length && block[j + 1]!.c.task === block[i]!.c.task) j++;
      const span = block.slice(i, j + 1).reduce((w, cell) => w + cell.width, 2 * (j - i));
      taskLine += `  ${block[i]!.c.task.padStart(span)}`;
      i = j + 1;
    }
    out.push(trimEnd(taskLine));
    out.push(['model'.padEnd(nameWidth), ...block.map((cell) => cell.c.metric.padStart(cell.width))].join('  '));
    out.push(['-'.repeat(nameWidth), ...block.map((cell) => '-'.repeat(cell.width))].join('  '));
    rows.forEach(([name], r) => out.push([name.padEnd(nameWidth), ...block.map((cell) => cell.values[r]!.padStart(cell.width))].join('  ')));
  }
  // Group counts depend on the labels only, so any row that has a task's count gives it.
  const groups = groupsNote(Object.assign({}, ...rows.map(([, m]) => m).reverse()) as FlatMetrics, names);
  return groups === undefined ? out.join('\n') : `${out.join('\n')}\n${groups}`;
}

function trimEnd(s: string): string {
  return s.replace(/\s+$/, '');
}

/** "GAUC averages per-group AUCs over groups with both classes: CTR 43, CTCVR 2, ..." */
function groupsNote(m: FlatMetrics | undefined, n: TaskNames): string | undefined {
  if (m === undefined) return undefined;
  const cvrClicked = n.cvr !== DEFAULT_TASK_NAMES.cvr ? n.cvr : 'CVR clicked';
  const names: [string, string][] = [['ctr', n.ctr], ['ctcvr', n.ctcvr], ['cvr_clicked', cvrClicked], ['action', n.action]];
  const parts = names.filter(([k]) => m[`groups_${k}`] !== undefined).map(([k, name]) => `${name} ${Math.round(m[`groups_${k}`]!).toLocaleString('en-US')}`);
  return parts.length === 0 ? undefined : `GAUC groups (users with both classes): ${parts.join(', ')}`;
}

function isFlat(m: FlatMetrics | Record<string, FlatMetrics>): m is FlatMetrics {
  return Object.values(m).every((v) => typeof v === 'number');
}

function fmt(v: number | undefined): string {
  if (v === undefined) return '';
  if (!Number.isFinite(v)) return 'n/a';
  return Math.abs(v) >= 100 ? String(Math.round(v)) : v.toFixed(4);
}

/** JSON with NaN/Infinity written as null (JSON has no NaN). */
export function metricsJson(m: unknown): string {
  return JSON.stringify(m, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}
