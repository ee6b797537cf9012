import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/api/load-config.js';
import { trainAndEvaluate, type RunResult } from '../../src/api/pipeline.js';

/** A small trained model on simulated data, saved to a temp dir. */
export async function trainTiny(name: string, overrides: Record<string, unknown> = {}): Promise<{ dir: string; run: RunResult }> {
  const dir = join(mkdtempSync(join(tmpdir(), `esmm-${name}-`)), 'model');
  const config = loadConfig(name, {
    data: { synth: { rows: 3000, seed: 5 } },
    train: { epochs: 1, batch_size: 512, threads: 1 },
    model: { tower: [16, 8], embedding_dim: 4, ...overrides },
  });
  const run = await trainAndEvaluate(config, { outDir: dir });
  return { dir, run };
}
