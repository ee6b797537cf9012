import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../src/report/index.js';
import { trainTiny } from '../export/fixture.js';
import { findChromium, renderHeadless } from './chromium.js';

const chromium = findChromium();
const SCREENSHOT = '/tmp/esmm-report.png';

/** Every chart container's inner HTML, by chart id, from a DOM dump. */
function chartsIn(dom: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /<div class="chart" data-chart="([^"]+)"[^>]*>([\s\S]*?)(?=<div class="chart" data-chart=|<\/div><\/div><h2|<\/div><\/div>\s*<table|<\/div><\/div>\s*<script|$)/g;
  for (const m of dom.matchAll(re)) out.set(m[1]!, m[2]!);
  return out;
}

describe('esmm report', () => {
  let dir: string;
  let testFile: string;
  let work: string;
  const expectedCharts = [
    'loss_ctr', 'loss_ctcvr', 'loss_loss', 'step_loss',
    'roc_ctr', 'pr_ctr', 'roc_cvr', 'pr_cvr', 'roc_ctcvr', 'pr_ctcvr', 'cal_ctr', 'cal_cvr', 'cal_ctcvr',
    'roc_cvr_truth', 'pr_cvr_truth', 'cal_cvr_truth', 'funnel',
  ];

  beforeAll(async () => {
    const { dir: d, run } = await trainTiny('esmm');
    dir = d;
    testFile = run.data.files.test!;
    work = mkdtempSync(join(tmpdir(), 'esmm-report-'));
    writeFileSync(join(work, 'compare.json'), JSON.stringify({ metrics: { esmm: run.metrics, naive_cvr: { ...run.metrics, auc_ctcvr: 0.5 } }, evaluatedOn: 'test', seconds: {} }));
  });

  it('writes one self-contained HTML file with every chart container and the tables', async () => {
    const out = join(work, 'report.html');
    const { charts } = await writeReport({ modelDir: dir, compareFile: join(work, 'compare.json') }, out);
    const html = readFileSync(out, 'utf8');
    expect(charts).toBe(expectedCharts.length);
    for (const id of expectedCharts) expect(html).toContain(`data-chart="${id}"`);
    expect(html).toContain('uPlot');
    expect(html).toMatch(/<table id="comparison"[^>]*>[\s\S]*naive_cvr/);
    expect(html).toMatch(/<th>stage<\/th>/);
    // Nothing is fetched at view time.
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
  });

  it('recomputes curves from --data FILE', async () => {
    const out = join(work, 'report-data.html');
    await writeReport({ modelDir: dir, dataFile: testFile }, out);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain(testFile.split('/').pop()!);
    expect(html).toContain('data-chart="roc_cvr"');
  });

  it.skipIf(chromium === undefined)(
    `renders every chart in headless chromium${chromium === undefined ? ' (SKIPPED: chromium is not installed; apt-get install -y chromium)' : ''}`,
    async () => {
      const out = join(work, 'render.html');
      await writeReport({ modelDir: dir, compareFile: join(work, 'compare.json') }, out);
      const dom = renderHeadless(chromium!, out, SCREENSHOT);
      const root = /<html[^>]*>/.exec(dom)![0];
      expect(root).toContain(`data-charts="${expectedCharts.length}"`);
      expect(root).toContain(`data-rendered="${expectedCharts.length}"`);
      expect(root).toContain('data-errors=""');
      const charts = chartsIn(dom);
      for (const id of expectedCharts) {
        expect(charts.get(id), id).toBeDefined();
        expect(charts.get(id), id).toContain('<canvas');
        expect(charts.get(id), id).toContain('class="uplot');
      }
      expect(existsSync(SCREENSHOT) && statSync(SCREENSHOT).size > 10_000).toBe(true);
    },
  );
});
