import type { FlatMetrics } from '../eval/evaluate.js';

/** The columns of the comparison table, ESMM paper Table 1 first (CVR AUC on clicks, CTCVR AUC). */
export const TABLE_COLUMNS: { key: string; title: string }[] = [
  { key: 'auc_cvr_clicked', title: 'CVR AUC (clicked)' },
  { key: 'auc_ctcvr', title: 'CTCVR AUC (all)' },
  { key: 'auc_cvr_entire_space', title: 'CVR AUC (entire space, truth)' },
  { key: 'auc_ctr', title: 'CTR AUC' },
  { key: 'gauc_ctcvr', title: 'CTCVR GAUC' },
  { key: 'auc_macro', title: 'AUC macro' },
  { key: 'logloss_ctcvr', title: 'CTCVR logloss' },
  { key: 'calibration_cvr_entire_space', title: 'pCVR mean / true' },
];

/**
 * Render one or more metric sets as an aligned text table: one row per model (or split), one
 * column per metric; columns absent from every row are left out.
 */
export function printTable(metrics: FlatMetrics | Record<string, FlatMetrics>, columns = TABLE_COLUMNS): string {
  const rows: [string, FlatMetrics][] = isFlat(metrics) ? [['model', metrics]] : Object.entries(metrics);
  const cols = columns.filter((c) => rows.some(([, m]) => m[c.key] !== undefined));
  const header = ['', ...cols.map((c) => c.title)];
  const body = rows.map(([name, m]) => [name, ...cols.map((c) => fmt(m[c.key]))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
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
