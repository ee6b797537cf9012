/**
 * The PyTorch anchor: runs ../shared/bench/torch_esmm_bench.py with Debian's python3-torch (CPU,
 * default threads, PyTorch's fastest setting here per DESIGN.md) and collects its JSON lines for
 * the wanted batch sizes. The script also times batch 8192; once the wanted sizes are in, the
 * child is stopped to keep the bench short.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
/** The script's path: ../shared/bench relative to the repository root (dist/bench/ is two below it). */
export const TORCH_SCRIPT = fileURLToPath(new URL('../../../shared/bench/torch_esmm_bench.py', import.meta.url));

export interface TorchLine {
  batch: number;
  samples_per_s_median: number;
  [k: string]: unknown;
}

/** Why PyTorch cannot run here, or undefined when it can. */
export function torchMissing(): string | undefined {
  if (!existsSync(TORCH_SCRIPT)) return `${TORCH_SCRIPT} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return `python3-torch is not installed (${PYTHON} -c "import torch" failed); apt-get install -y python3-torch libopenblas0-pthread`;
  return undefined;
}

/** Runs the script and resolves with one line per wanted batch size (printing each as it arrives). */
export function runTorch(batches: number[], onLine: (line: TorchLine) => void): Promise<Map<number, TorchLine>> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [TORCH_SCRIPT, 'cpu'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const got = new Map<number, TorchLine>();
    let pending = '';
    let stopped = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const text = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as TorchLine;
        if (!batches.includes(line.batch)) continue;
        got.set(line.batch, line);
        onLine(line);
        if (batches.every((b) => got.has(b)) && !stopped) {
          stopped = true;
          child.kill('SIGTERM');
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (stopped || code === 0) resolve(got);
      else reject(new Error(`${TORCH_SCRIPT} exited with code ${code}`));
    });
  });
}
