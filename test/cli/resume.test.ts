/**
 * Crash safety: a run killed with SIGKILL mid-epoch, then resumed, ends with the same metrics as
 * an uninterrupted run with the same seed; SIGINT stops cleanly after writing a checkpoint.
 * Runs the compiled CLI (npm test builds first) as a real child process.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'esmm.js');

function config(dir: string): string {
  const file = join(dir, 'resume.yaml');
  writeFileSync(file, [
    'data: { synth: { rows: 60000, seed: 9 } }',
    'schema: synth',
    'model: { name: esmm, embedding_dim: 8, tower: [32, 16] }',
    'train: { epochs: 2, batch_size: 128, seed: 3, checkpoint_every: 40, threads: 1 }',
    '',
  ].join('\n'));
  return file;
}

function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, done };
}

function checkpointStep(out: string): number {
  const f = join(out, 'checkpoint', 'state.json');
  if (!existsSync(f)) return 0;
  try {
    return (JSON.parse(readFileSync(f, 'utf8')) as { position: { globalStep: number } }).position.globalStep;
  } catch {
    return 0; // being replaced right now
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function metrics(out: string): Record<string, number | null> {
  return (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { metrics: Record<string, number | null> }).metrics;
}

describe('checkpoints and resume', () => {
  const dir = tempDir('esmm-resume-');
  const cfg = config(dir);
  const reference = join(dir, 'uninterrupted');

  it('an uninterrupted run is the reference', async () => {
    const r = await start(['train', '--config', cfg, '--out', reference, '--quiet']).done;
    expect(r.code).toBe(0);
    expect(metrics(reference).auc_ctr).toBeGreaterThan(0.5);
  });

  it('SIGKILL mid-epoch, then --resume, gives the same final metrics', async () => {
    const out = join(dir, 'killed');
    const run = start(['train', '--config', cfg, '--out', out, '--quiet']);
    await waitFor(() => checkpointStep(out) >= 80, 60_000);
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(out, 'metrics.json'))).toBe(false);
    const savedAt = checkpointStep(out);
    expect(savedAt).toBeGreaterThanOrEqual(80);

    const resumed = await start(['train', '--config', cfg, '--out', out, '--resume', '--quiet']).done;
    expect(resumed.code).toBe(0);
    // Work repeated after the crash is at most one checkpoint interval: we restart at the last checkpoint.
    expect(resumed.stderr).toContain(`resumed from step ${savedAt}`);
    const a = metrics(reference);
    const b = metrics(out);
    for (const [k, v] of Object.entries(a)) {
      if (typeof v === 'number') expect(Math.abs(v - (b[k] as number)), k).toBeLessThanOrEqual(1e-6);
      else expect(b[k]).toBe(v);
    }
  });

  it('SIGINT stops after writing a checkpoint; resume finishes the same run', async () => {
    const out = join(dir, 'interrupted');
    const run = start(['train', '--config', cfg, '--out', out, '--quiet']);
    await waitFor(() => checkpointStep(out) >= 40, 60_000);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/checkpoint/);
    expect(checkpointStep(out)).toBeGreaterThanOrEqual(40);
    const resumed = await start(['train', '--config', cfg, '--out', out, '--resume', '--quiet']).done;
    expect(resumed.code).toBe(0);
    expect(metrics(out).auc_ctcvr).toBeCloseTo(metrics(reference).auc_ctcvr as number, 6);
  });

  it('refuses --resume without a checkpoint, in one line', async () => {
    const r = await start(['train', '--config', cfg, '--out', join(dir, 'nothing'), '--resume']).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no checkpoint to resume from/);
  });
});
