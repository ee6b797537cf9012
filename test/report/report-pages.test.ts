/**
 * The three report pages a user meets (one model, ESM2, a comparison): what each must say, and,
 * where chromium is installed, that each renders every chart with no console error and no
 * horizontal scroll at 1280 px. Screenshots go to $TMPDIR/esmm-report-{single,esm2,compare}.png.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareModels } from '../../src/api/compare.js';
import { loadConfig } from '../../src/api/load-config.js';
import { writeReport } from '../../src/report/index.js';
import { trainTiny } from '../export/fixture.js';
import { findChromium, renderHeadless } from './chromium.js';

const chromium = findChromium();
const WHY_SKIPPED = chromium === undefined ? ' (SKIPPED: chromium is not installed; apt-get install -y chromium)' : '';

interface Page {
  name: string;
  file: string;
}

describe('report pages', () => {
  const work = mkdtempSync(join(tmpdir(), 'esmm-report-pages-'));
  const pages: Page[] = [];
  let testFile = '';

  beforeAll(async () => {
    const single = await trainTiny('esmm', {});
    testFile = single.run.data.files.test!;
    pages.push({ name: 'single', file: join(work, 'single.html') });
    await writeReport({ modelDir: single.dir }, pages[0]!.file);

    const esm2 = await trainTiny('esm2', {});
    pages.push({ name: 'esm2', file: join(work, 'esm2.html') });
    await writeReport({ modelDir: esm2.dir }, pages[1]!.file);

    const config = loadConfig('esmm', { data: { synth: { rows: 3000, seed: 5 } }, train: { epochs: 2, batch_size: 512 }, model: { tower: [16, 8], embedding_dim: 4 } });
    const models = ['esmm', 'esm2', 'naive_cvr'];
    const result = await compareModels(config, models, { outDir: (m) => join(work, 'cmp', m) });
    pages.push({ name: 'compare', file: join(work, 'compare.html') });
    await writeReport(
      {
        modelDir: join(work, 'cmp', 'esmm'),
        comparison: { metrics: result.metrics, evaluatedOn: result.evaluatedOn, seconds: result.seconds },
        compareDirs: Object.fromEntries(models.map((m) => [m, join(work, 'cmp', m)])),
      },
      pages[2]!.file,
    );
  }, 300_000);

  const html = (name: string): string => readFileSync(pages.find((p) => p.name === name)!.file, 'utf8');

  it('ESM2: each funnel stage is conditional on its parent (buy on click, not on cart)', () => {
    const page = html('esm2');
    expect(page).toContain('<td>buy | click</td>');
    expect(page).toContain('<td>cart | click</td>');
    expect(page).not.toContain('buy | cart');
  });

  it('one model: PR beside ROC, epoch ticks and best-epoch data, truth section, run facts', () => {
    const page = html('single');
    for (const task of ['ctr', 'cvr', 'ctcvr']) expect(page).toMatch(new RegExp(`data-chart="roc_${task}"></div><div class="chart" data-chart="pr_${task}"`));
    expect(page).toContain('<h2>Ground truth (simulator)</h2>');
    expect(page).toContain('data-chart="roc_cvr_truth"');
    expect(page).toMatch(/entire-space pCVR AUC against potential_buy \d\.\d{4}/);
    expect(page).toContain('<h2>Run</h2>');
    expect(page).toMatch(/<th>rows<\/th><td>train [\d,]+, valid [\d,]+, test [\d,]+<\/td>/);
    expect(page).toMatch(/<th>training time<\/th><td>\d+\.\d s<\/td>/);
    expect(page).toMatch(/<th>out-of-vocabulary, test<\/th>/);
    expect(page).toContain('"bestEpoch":');
  });

  it('--data: the summary is computed on that file', async () => {
    const out = join(work, 'data.html');
    const single = pages.find((p) => p.name === 'single')!;
    const dir = /model directory <code>([^<]+)<\/code>/.exec(readFileSync(single.file, 'utf8'))![1]!;
    await writeReport({ modelDir: dir, dataFile: testFile }, out);
    expect(readFileSync(out, 'utf8')).toContain(`evaluated on the ${basename(testFile)} split`);
  });

  it('comparison: its own title, the table first, readable headers, best per column in its direction, seconds', () => {
    const page = html('compare');
    expect(page).toMatch(/<title>esmm comparison: esmm, esm2, naive_cvr<\/title>/);
    expect(page.indexOf('<h2>Model comparison</h2>')).toBeLessThan(page.indexOf('<h2>Loss curves</h2>'));
    expect(page.indexOf('<h2>Model comparison</h2>')).toBeLessThan(page.indexOf('<h2>Models overlaid</h2>'));
    const header = /<table id="comparison"[^>]*><tr>([\s\S]*?)<\/tr>/.exec(page)![1]!;
    for (const th of header.match(/<th>[^<]*<\/th>/g)!) expect(th).not.toMatch(/<th>[a-z]+_[a-z_]+<\/th>/); // no raw metric keys
    expect(header).toContain('<th>training seconds</th>');
    for (const id of ['ovl_roc_ctcvr', 'ovl_pr_ctcvr', 'ovl_cal_ctcvr']) expect(page).toContain(`data-chart="${id}"`);
  });

  it('comparison: lower logloss is marked best, higher AUC is marked best', async () => {
    const out = join(work, 'direction.html');
    const cmp = join(work, 'direction.json');
    writeFileSync(cmp, JSON.stringify({ evaluated_on: 'test', metrics: { a: { auc_ctcvr: 0.7, logloss_ctcvr: 0.02 }, b: { auc_ctcvr: 0.8, logloss_ctcvr: 0.01 } } }));
    await writeReport({ modelDir: /model directory <code>([^<]+)<\/code>/.exec(html('single'))![1]!, compareFile: cmp }, out);
    const page = readFileSync(out, 'utf8');
    expect(page).toContain('<td class="best">0.0100</td>');
    expect(page).toContain('<td class="best">0.8000</td>');
    expect(page).not.toContain('<td class="best">0.0200</td>');
  });

  it.skipIf(chromium === undefined)(`every page renders all charts, no console error, no horizontal scroll at 1280 px${WHY_SKIPPED}`, () => {
    for (const page of pages) {
      const shot = join(tmpdir(), `esmm-report-${page.name}.png`);
      const dom = renderHeadless(chromium!, page.file, shot, 1280);
      const root = /<html[^>]*>/.exec(dom)![0];
      const attr = (k: string): string | undefined => new RegExp(`${k}="([^"]*)"`).exec(root)?.[1];
      expect(Number(attr('data-charts')), page.name).toBeGreaterThan(5);
      expect(attr('data-rendered'), page.name).toBe(attr('data-charts'));
      expect(attr('data-errors'), page.name).toBe('');
      expect(attr('data-console-errors'), page.name).toBeUndefined();
      expect(Number(attr('data-scroll-width')), `${page.name}: horizontal scroll`).toBeLessThanOrEqual(Number(attr('data-client-width')));
      expect(Number(attr('data-client-width'))).toBeGreaterThan(1000);
      expect(existsSync(shot) && statSync(shot).size > 10_000, shot).toBe(true);
      console.log(`screenshot: ${shot}`);
    }
  }, 600_000);
});
