import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'esmm.js');

/** A small esmm config on simulated data; early stopping off (the tests compare runs of a fixed number of epochs). */
export function synthConfig(dir: string, rows: number, epochs: number): string {
  const file = join(dir, `synth-${rows}-${epochs}.yaml`);
  writeFileSync(file, [
    `data: { synth: { rows: ${rows}, seed: 5 } }`,
    'schema: synth',
    'model: { name: esmm, embedding_dim: 8, tower: [16] }',
    `train: { epochs: ${epochs}, batch_size: 256, learning_rate: 0.003, seed: 1, early_stopping: false }`,
    '',
  ].join('\n'));
  return file;
}

export function metrics(dir: string): Record<string, number> {
  return (JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { metrics: Record<string, number> }).metrics;
}

export interface Proc {
  child: ChildProcess;
  done: Promise<{ code: number; signal: string | null; stdout: string; stderr: string }>;
}

/** Starts the built CLI as a process (launch spawns its workers from bin/esmm.js too). */
export function startBin(args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code: code ?? 1, signal, stdout, stderr }));
  });
  return { child, done };
}

export async function runBin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return startBin(args).done;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the run has completed `round` rounds (the coordinator's done key). */
export async function waitForRound(client: Cluster, run: string, round: number): Promise<void> {
  const until = Date.now() + 120_000;
  for (;;) {
    const v = await client.get(`{esmm:${run}:coord}:done`).catch(() => null);
    if (v !== null && Number(v) >= round) return;
    if (Date.now() > until) throw new Error(`run ${run} did not reach round ${round}`);
    await sleep(100);
  }
}
