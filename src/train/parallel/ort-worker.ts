/**
 * One onnxruntime session in a worker thread (DESIGN.md "Workers and scale-out": ORT runs inside
 * worker_threads, each worker with its own InferenceSession; `run` blocks the thread it runs on,
 * so N sessions in N workers compute at the same time while the main thread gathers).
 *
 * The worker is a few lines of plain JavaScript passed as source (`eval: true`) rather than a
 * module file: it needs nothing of esmm but onnxruntime-node, and a source string runs the same
 * from src/ under vitest and from dist/ (a .ts worker file would not load in both).
 *
 * Transport: each feed is copied once into a fresh ArrayBuffer that is transferred (not cloned)
 * to the worker; ORT's outputs come back by structured clone. Tensors cannot be backed by a
 * SharedArrayBuffer, so shared memory would not save the copy.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
parentPort.on('message', async (msg) => {
  try {
    if (msg.kind === 'init') {
      session = await ort.InferenceSession.create(msg.model, {
        intraOpNumThreads: msg.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
      });
      parentPort.postMessage({ kind: 'ready' });
      return;
    }
    const feeds = {};
    for (const [name, f] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor('float32', f.data, f.dims);
    const res = await session.run(feeds, msg.fetch);
    const outputs = {};
    for (const name of msg.fetch) outputs[name] = res[name].data;
    parentPort.postMessage({ kind: 'result', outputs });
  } catch (e) {
    parentPort.postMessage({ kind: 'error', message: String(e && e.message ? e.message : e) });
  }
});
`;

export interface WorkerFeed {
  data: Float32Array;
  dims: number[];
}

type Reply = { kind: 'ready' } | { kind: 'result'; outputs: Record<string, Float32Array> } | { kind: 'error'; message: string };

export class OrtWorker {
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.unref(); // ref'd only while a call is in flight: an idle worker never keeps the process alive
    worker.on('message', (r: Reply) => {
      this.worker.unref();
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(r);
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`ORT worker exited with code ${code}`)));
  }

  /** Start a worker and load `model` (ONNX bytes) into its session with `threads` intra-op threads. */
  static async create(model: Uint8Array, threads: number): Promise<OrtWorker> {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    const w = new OrtWorker(new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath } }));
    const r = await w.call({ kind: 'init', model, threads }, []);
    if (r.kind !== 'ready') throw new Error('ORT worker: unexpected reply to init');
    return w;
  }

  /**
   * Run the session on `feeds` and return the `fetch` outputs. Each feed's first prod(dims) values
   * are copied (views of larger buffers are fine; the caller's arrays are never detached).
   */
  async run(feeds: Record<string, WorkerFeed>, fetch: string[]): Promise<Record<string, Float32Array>> {
    const sent: Record<string, WorkerFeed> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, f] of Object.entries(feeds)) {
      const len = f.dims.reduce((a, b) => a * b, 1);
      const data = f.data.slice(0, len);
      sent[name] = { data, dims: f.dims };
      transfer.push(data.buffer as ArrayBuffer);
    }
    const r = await this.call({ kind: 'run', feeds: sent, fetch }, transfer);
    if (r.kind !== 'result') throw new Error('ORT worker: unexpected reply to run');
    return r.outputs;
  }

  async release(): Promise<void> {
    this.failure ??= new Error('ORT worker released');
    await this.worker.terminate();
  }

  private call(msg: unknown, transfer: ArrayBuffer[]): Promise<Reply> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.pending !== undefined) return Promise.reject(new Error('ORT worker: a run is already in flight'));
    return new Promise<Reply>((resolve, reject) => {
      this.pending = {
        resolve: (r) => (r.kind === 'error' ? reject(new Error(`ORT worker: ${r.message}`)) : resolve(r)),
        reject,
      };
      this.worker.ref();
      this.worker.postMessage(msg, transfer);
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }
}
