import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Path of Debian's chromium, or undefined when it is not installed. */
export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() !== '') return r.stdout.trim();
  }
  return undefined;
}

/** Load a local HTML file in headless chromium (no network) and return the DOM after scripts ran; optionally save a PNG. */
export function renderHeadless(chromium: string, htmlFile: string, screenshot?: string, width = 1200): string {
  const profile = mkdtempSync(join(tmpdir(), 'esmm-chromium-'));
  const common = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--virtual-time-budget=10000',
  ];
  try {
    const url = pathToFileURL(htmlFile).href;
    const dom = execFileSync(chromium, [...common, `--window-size=${width},2000`, '--dump-dom', url], { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
    if (screenshot !== undefined) {
      execFileSync(chromium, [...common, `--screenshot=${screenshot}`, `--window-size=${width},5200`, '--hide-scrollbars', url], { timeout: 90_000, stdio: 'ignore' });
    }
    return dom;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
