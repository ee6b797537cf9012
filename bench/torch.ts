/**
 * Where the PyTorch anchor lives (../shared/bench/torch_esmm_bench.py, run with Debian's
 * python3-torch) and whether it can run here. bench/torch-serve.ts drives it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Debian's python3 by default; ESMM_PYTHON names another (e.g. a machine whose torch lives in a venv). */
export const PYTHON = process.env.ESMM_PYTHON ?? '/usr/bin/python3';
/** The script's path: ../shared/bench relative to the repository root (dist/bench/ is two below it). */
export const TORCH_SCRIPT = fileURLToPath(new URL('../../../shared/bench/torch_esmm_bench.py', import.meta.url));

/** Why PyTorch cannot run here, or undefined when it can. */
export function torchMissing(): string | undefined {
  if (!existsSync(TORCH_SCRIPT)) return `${TORCH_SCRIPT} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return `python3-torch is not installed (${PYTHON} -c "import torch" failed); apt-get install -y python3-torch libopenblas0-pthread`;
  return undefined;
}
