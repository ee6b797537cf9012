import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

export function tempDir(prefix = 'esmm-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Run the CLI in-process, capturing stdout and stderr. */
export async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** A small config on simulated data, fast enough for tests. */
export function smallSynthConfig(dir: string, model = 'esmm', rows = 30000): string {
  const file = join(dir, `${model}.yaml`);
  writeFileSync(file, [
    `data: { synth: { rows: ${rows}, seed: 5 } }`,
    'schema: synth',
    `model: { name: ${model}, embedding_dim: 8, tower: [16] }`,
    'train: { epochs: 2, batch_size: 256, learning_rate: 0.003, seed: 1 }',
    '',
  ].join('\n'));
  return file;
}
