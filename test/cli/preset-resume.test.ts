/**
 * A run on a preset's data can be resumed: the preset's output goes to the same place for the
 * same input, so the checkpoint's data fingerprint matches. Runs the compiled CLI as a real
 * child process, stopped with SIGINT after its first checkpoint.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'esmm.js');
const ADULT = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'adult', 'adult.data');

function run(args: string[], onStderr?: (child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(child);
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

describe('resume on preset data', () => {
  it('--preset P --config overrides.yaml, stopped with SIGINT, resumes from its checkpoint', async () => {
    const dir = tempDir('esmm-preset-resume-');
    const overrides = join(dir, 'overrides.yaml');
    writeFileSync(overrides, 'model: { embedding_dim: 4, tower: [8] }\ntrain: { epochs: 2, batch_size: 32, checkpoint_every: 20, threads: 1 }\n');
    const out = join(dir, 'model');
    const args = ['train', '--preset', 'adult', '--config', overrides, '--train', ADULT, '--out', out];
    let sent = false;
    const first = await run(args, (child) => {
      if (!sent && existsSync(join(out, 'checkpoint', 'state.json'))) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(first.stderr).not.toMatch(/error/);
    expect(first.code).toBe(130);
    const second = await run([...args, '--resume', '--quiet']);
    expect(second.stderr).not.toMatch(/different config or data/);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/resumed from step [1-9]/);
  }, 120_000);
});
