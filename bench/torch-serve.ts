/**
 * One long-lived PyTorch process (`torch_esmm_bench.py serve`) that answers "DEVICE BATCH THREADS"
 * lines with one timed run each, so the bench can interleave its own runs with PyTorch's
 * (ours, torch, ours, torch, ...) on a machine whose load changes by the minute.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { PYTHON, TORCH_SCRIPT } from './torch.js';

export interface TorchServeLine {
  torch: string;
  threads: number;
  batch: number;
  samples_per_s: number;
  /** CPU seconds of the whole call: model set-up, warm-up and the timed steps. */
  cpu_s_whole_call: number;
  steps: number;
  warm: number;
}

export class TorchServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private pending = '';
  private waiting: ((line: TorchServeLine) => void) | undefined;
  private failed: ((e: Error) => void) | undefined;

  constructor() {
    this.child = spawn(PYTHON, [TORCH_SCRIPT, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (s: string) => process.stderr.write(s));
    this.child.stdout.on('data', (chunk: string) => {
      this.pending += chunk;
      let nl: number;
      while ((nl = this.pending.indexOf('\n')) >= 0) {
        const text = this.pending.slice(0, nl).trim();
        this.pending = this.pending.slice(nl + 1);
        if (!text.startsWith('{') || this.waiting === undefined) continue;
        const resolve = this.waiting;
        this.waiting = undefined;
        resolve(JSON.parse(text) as TorchServeLine);
      }
    });
    this.child.on('close', (code) => this.failed?.(new Error(`${TORCH_SCRIPT} serve exited with code ${code}`)));
  }

  /** One timed PyTorch run (60 steps after 10 warm-up steps, the script's fixed work). */
  run(batch: number, threads: number): Promise<TorchServeLine> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.child.stdin.write(`cpu ${batch} ${threads}\n`);
    });
  }

  close(): void {
    this.failed = undefined;
    this.child.stdin.end();
  }
}
