/**
 * The workers' step barrier and dense-gradient sync, through keys under ONE hash tag
 * `{esmm:RUN:coord}` (so MGET over all workers' blobs is one command):
 *   :grad:R:I    worker I's dense gradient of round R, already weighted by its share of the round's
 *                rows (float64 rows, float64 the round's rows as this worker counted them, then
 *                float32 values)
 *   :sum:R       the round's summed gradient, computed once by worker R mod N after the barrier;
 *                the others wait for it (:sumgo:R wake-up tokens)
 *   :state:R     the dense state every worker starts round R from: parameters and the dense
 *                optimizer's step count and moments (written by worker R mod N before its own
 *                gradient, so it exists whenever round R's barrier completed; with N = 1 written at
 *                the end of round R - 1)
 *   :arrived:NAME  set of the workers at a barrier (SADD: arriving twice, e.g. a restarted worker
 *                or a retry, counts once);  :go:NAME  wake-up tokens (BLPOP) pushed by a worker
 *                that saw the set complete
 *   :done        the last round whose barrier completed (a restarted worker resumes after it)
 *   :workers     the worker count the run started with
 *
 * Synchronous every round (k = 1), N >= 2: every worker trains its n_k of the round's n rows and
 * publishes its dense gradient times n_k / n; after the barrier the round's designated worker adds
 * the N gradients (float64, in worker order, rounded to float32 once) and publishes the sum, which
 * is the gradient of the round's mean loss over all n rows; every worker then steps the SAME dense
 * optimizer (same moments, same step count) with the SAME summed gradient, so the dense parameters
 * and moments stay bit-identical on every worker: one Adam step on the merged gradient, as a
 * single process takes on a batch of n rows. With N = 1 nothing is merged: the worker's own step
 * (the in-graph Adam) is that step, and the coordinator only keeps the state for --resume.
 */
import type { Cluster } from 'ioredis';
import { UserError } from '../errors.js';
import { connectCluster } from './redis-store.js';
import { withRetry } from './retry.js';
import type { DenseOptimizerState } from '../optim/dense.js';

const TTL_SECONDS = 24 * 3600;

export class Coordinator {
  private constructor(
    private readonly cluster: Cluster,
    /** A second connection for blocking BLPOP (it would stall the pipelined one). */
    private readonly blocking: Cluster,
    readonly run: string,
    readonly worker: number,
    readonly workers: number,
    private readonly log: (line: string) => void,
  ) {}

  static async open(url: string, run: string, worker: number, workers: number, log: (line: string) => void): Promise<Coordinator> {
    const cluster = await connectCluster(url);
    const blocking = await connectCluster(url);
    return new Coordinator(cluster, blocking, run, worker, workers, log);
  }

  private k(name: string): string {
    return `{esmm:${this.run}:coord}:${name}`;
  }

  /** The last round whose barrier completed, or -1 (a fresh run). */
  async lastDone(): Promise<number> {
    const v = await this.cluster.get(this.k('done'));
    return v === null ? -1 : Number(v);
  }

  /** Records (first worker) or checks (the others, a restart) the run's worker count. */
  async checkWorkers(): Promise<void> {
    await this.cluster.set(this.k('workers'), String(this.workers), 'EX', TTL_SECONDS, 'NX');
    const n = Number(await this.cluster.get(this.k('workers')));
    if (n !== this.workers) throw new UserError(`run '${this.run}' was started with ${n} workers, not ${this.workers}; use the same --worker I/N or another --run-id`);
  }

  /** Waits until all workers have called barrier(name). Says so when it waits long (a dead worker). */
  async barrier(name: string): Promise<void> {
    const set = this.k(`arrived:${name}`);
    const go = this.k(`go:${name}`);
    const full = await this.retry(`barrier ${name}`, async () => {
      await this.cluster.sadd(set, String(this.worker));
      await this.cluster.expire(set, TTL_SECONDS);
      return (await this.cluster.scard(set)) >= this.workers;
    });
    if (full) {
      if (this.workers > 1) {
        await this.retry(`barrier ${name}`, async () => {
          await this.cluster.rpush(go, ...new Array<string>(this.workers - 1).fill('1'));
          await this.cluster.expire(go, TTL_SECONDS);
        });
      }
      return;
    }
    const t0 = Date.now();
    let said = 0;
    for (;;) {
      // Tokens only wake waiters up; the set decides (a lost token costs one 1-second timeout).
      const woke = await this.retry(`barrier ${name}`, () => this.blocking.blpop(go, 1));
      if (woke !== null || (await this.retry(`barrier ${name}`, () => this.cluster.scard(set))) >= this.workers) return;
      const waited = (Date.now() - t0) / 1000;
      if (waited > 10 * (said + 1)) {
        said++;
        this.log(`worker ${this.worker}: waiting ${Math.round(waited)} s at barrier ${name} for the other workers (a stopped worker resumes with --resume)`);
      }
    }
  }

  private retry<T>(what: string, op: () => Promise<T>): Promise<T> {
    return withRetry(this.cluster, what, op, this.log);
  }

  /** N >= 2, the designated worker (round mod N) at the start of `round`: the dense state every worker starts it from. */
  async publishState(round: number, params: Float32Array[], state: DenseOptimizerState): Promise<void> {
    const blob = packState(params, state);
    await this.retry('publishing the dense state', () => this.cluster.set(this.k(`state:${round}`), blob, 'EX', TTL_SECONDS));
  }

  /**
   * N >= 2, before round 0 on every worker but 0: the dense state worker 0 starts from, so that
   * every worker starts from the same bits (a worker's own init may differ: output_bias_init:
   * prior is fitted on its own partition). Waits for it (worker 0 may start later).
   */
  async adoptState(round: number, params: Float32Array[], template: DenseOptimizerState): Promise<DenseOptimizerState> {
    const t0 = Date.now();
    let said = 0;
    for (;;) {
      const b = await this.retry('reading the dense state', () => this.cluster.getBuffer(this.k(`state:${round}`)));
      if (b !== null) return unpackState(b, params, template);
      await new Promise((r) => setTimeout(r, 100));
      const waited = (Date.now() - t0) / 1000;
      if (waited > 10 * (said + 1)) {
        said++;
        this.log(`worker ${this.worker}: waiting ${Math.round(waited)} s for worker ${round % this.workers}'s dense state of round ${round}`);
      }
    }
  }

  /**
   * N >= 2, round `round`: publish this worker's weighted dense gradient (`rows` of the round's
   * `roundRows` rows; zeros when it had none), wait for every worker, then write the round's
   * summed gradient into `sum` (the same bits on every worker).
   */
  async syncGradients(round: number, rows: number, roundRows: number, grads: Float32Array[], sum: Float32Array[]): Promise<void> {
    const mine = packGrad(rows, roundRows, grads);
    await this.retry('publishing the dense gradient', () => this.cluster.set(this.k(`grad:${round}:${this.worker}`), mine, 'EX', TTL_SECONDS));
    await this.barrier(`r${round}`);
    await this.retry('marking the round done', () => this.cluster.set(this.k('done'), String(round), 'EX', TTL_SECONDS));
    if (round % this.workers === this.worker) {
      // The round's designated worker reads the N blobs and publishes the sum once (N·P bytes out
      // of the coordinator's node per round, not N²·P).
      await this.retry('summing dense gradients', () => this.combine(round, sum));
      await this.publishSum(round, sum);
    } else {
      await this.waitForSum(round, sum);
    }
    // Everyone has read round-1's sum before publishing this round's gradient: drop the old keys.
    if (round > 0) {
      await this.retry('cleaning up', async () => {
        await this.cluster.del(this.k(`grad:${round - 1}:${this.worker}`));
        if (this.worker === 0) {
          const r = round - 1;
          await this.cluster.del(this.k(`arrived:r${r}`), this.k(`go:r${r}`), this.k(`state:${r}`), this.k(`sum:${r}`), this.k(`sumgo:${r}`));
        }
      });
    }
  }

  /** N = 1, after round `round`'s step: keep the dense state it ends with (the next round's start), then mark it done. */
  async commitRound(round: number, params: Float32Array[], state: DenseOptimizerState): Promise<void> {
    const blob = packState(params, state);
    await this.retry('publishing the dense state', async () => {
      await this.cluster.set(this.k(`state:${round + 1}`), blob, 'EX', TTL_SECONDS);
      await this.cluster.set(this.k('done'), String(round), 'EX', TTL_SECONDS);
      if (round > 0) await this.cluster.del(this.k(`state:${round}`));
    });
  }

  private async publishSum(round: number, sum: Float32Array[]): Promise<void> {
    await this.retry('publishing the summed dense gradient', async () => {
      await this.cluster.set(this.k(`sum:${round}`), packGrad(0, 0, sum), 'EX', TTL_SECONDS);
      if (this.workers > 1) {
        await this.cluster.rpush(this.k(`sumgo:${round}`), ...new Array<string>(this.workers - 1).fill('1'));
        await this.cluster.expire(this.k(`sumgo:${round}`), TTL_SECONDS);
      }
    });
  }

  /** Waits for the designated worker's sum of `round` (it may be restarting: say so every 10 s). */
  private async waitForSum(round: number, sum: Float32Array[]): Promise<void> {
    const t0 = Date.now();
    let said = 0;
    for (;;) {
      const b = await this.retry('reading the summed dense gradient', () => this.cluster.getBuffer(this.k(`sum:${round}`)));
      if (b !== null) {
        unpackGrad(b, sum, 'the summed gradient');
        return;
      }
      await this.retry('waiting for the summed dense gradient', () => this.blocking.blpop(this.k(`sumgo:${round}`), 1));
      const waited = (Date.now() - t0) / 1000;
      if (waited > 10 * (said + 1)) {
        said++;
        this.log(`worker ${this.worker}: waiting ${Math.round(waited)} s for worker ${round % this.workers}'s dense gradient sum of round ${round} (a stopped worker resumes with --resume)`);
      }
    }
  }

  /**
   * A restarted worker: the dense state after the completed round `done` into `params`, returned
   * as the optimizer state to restore (`template` gives its shapes). Either the next round's start
   * is stored already (N = 1, or the next round's designated worker got to it), or it is round
   * `done`'s start plus its summed gradient, which the caller then applies (`sum` is filled and
   * true is returned in `applySum`).
   */
  async restore(done: number, params: Float32Array[], template: DenseOptimizerState, sum: Float32Array[]): Promise<{ state: DenseOptimizerState; applySum: boolean }> {
    const next = await this.cluster.getBuffer(this.k(`state:${done + 1}`));
    if (next !== null) return { state: unpackState(next, params, template), applySum: false };
    const start = await this.cluster.getBuffer(this.k(`state:${done}`));
    if (start === null) throw new UserError(`run '${this.run}': the dense state of round ${done} is no longer in the store; the run cannot be resumed`);
    const state = unpackState(start, params, template);
    const b = await this.cluster.getBuffer(this.k(`sum:${done}`));
    if (b !== null) {
      unpackGrad(b, sum, 'the summed gradient');
    } else {
      await this.combine(done, sum);
      // The designated worker may have died before publishing: publishing the same bits again is harmless.
      await this.publishSum(done, sum);
    }
    return { state, applySum: true };
  }

  /** Re-creates the coordinator state after a completed round from a snapshot (a store that lost the run). */
  async restoreRound(round: number, params: Float32Array[], state: DenseOptimizerState): Promise<void> {
    await this.cluster.set(this.k('workers'), String(this.workers), 'EX', TTL_SECONDS);
    await this.cluster.set(this.k(`state:${round + 1}`), packState(params, state), 'EX', TTL_SECONDS);
    await this.cluster.set(this.k('done'), String(round), 'EX', TTL_SECONDS);
  }

  /** sum = the workers' weighted gradients added in float64, in worker order, rounded once. */
  private async combine(round: number, sum: Float32Array[]): Promise<void> {
    const keys = Array.from({ length: this.workers }, (_, i) => this.k(`grad:${round}:${i}`));
    const blobs = await this.cluster.mgetBuffer(...keys);
    const total = sum.reduce((s, p) => s + p.length, 0);
    const acc = new Float64Array(total);
    const g = sum.map((p) => new Float32Array(p.length));
    let rows = 0;
    const counted = new Set<number>();
    blobs.forEach((b, i) => {
      if (b === null || b === undefined) throw new Error(`the dense gradient of worker ${i}, round ${round} is missing from the store`);
      const r = unpackGrad(b, g, `worker ${i}`);
      rows += r.rows;
      counted.add(r.roundRows);
      if (r.rows === 0) return;
      let k = 0;
      for (const p of g) for (let d = 0; d < p.length; d++, k++) acc[k] += p[d]!;
    });
    // Each worker weighted its gradient (and its embedding gradients) by rows / roundRows: all
    // must have counted the same round.
    if (counted.size !== 1 || !counted.has(rows)) {
      throw new UserError(`round ${round}: the workers trained ${rows} rows but weighted their gradients for ${[...counted].join(' / ')}; all workers must run the same config on the same data`);
    }
    let j = 0;
    for (const p of sum) for (let d = 0; d < p.length; d++) p[d] = acc[j++]!;
  }

  async close(): Promise<void> {
    await Promise.all([this.cluster.quit().catch(() => this.cluster.disconnect()), this.blocking.quit().catch(() => this.blocking.disconnect())]);
  }
}

function floatsInto(b: Buffer, off: number, into: Float32Array[]): number {
  for (const p of into) {
    new Uint8Array(p.buffer, p.byteOffset, p.byteLength).set(b.subarray(off, off + p.byteLength));
    off += p.byteLength;
  }
  return off;
}

function floatsFrom(blob: Buffer, off: number, arrays: Float32Array[]): number {
  for (const p of arrays) {
    Buffer.from(p.buffer, p.byteOffset, p.byteLength).copy(blob, off);
    off += p.byteLength;
  }
  return off;
}

const count = (arrays: Float32Array[]): number => arrays.reduce((s, p) => s + p.length, 0);

/** float64 rows, float64 the round's rows, then the gradients' float32 values. */
function packGrad(rows: number, roundRows: number, grads: Float32Array[]): Buffer {
  const blob = Buffer.alloc(16 + 4 * count(grads));
  blob.writeDoubleLE(rows, 0);
  blob.writeDoubleLE(roundRows, 8);
  floatsFrom(blob, 16, grads);
  return blob;
}

function unpackGrad(b: Buffer, into: Float32Array[], who: string): { rows: number; roundRows: number } {
  const total = count(into);
  if (b.length !== 16 + 4 * total) throw new UserError(`${who}'s dense gradient has ${(b.length - 16) / 4} values, not ${total}: all workers must run the same config`);
  floatsInto(b, 16, into);
  return { rows: b.readDoubleLE(0), roundRows: b.readDoubleLE(8) };
}

/** float64 optimizer step count, then the parameters' and the optimizer buffers' float32 values. */
export function packState(params: Float32Array[], state: DenseOptimizerState): Buffer {
  const blob = Buffer.alloc(8 + 4 * (count(params) + count(state.buffers)));
  blob.writeDoubleLE(state.step, 0);
  floatsFrom(blob, floatsFrom(blob, 8, params), state.buffers);
  return blob;
}

/** Unpacks a state blob: parameters into `params`, the optimizer state returned (shaped like `template`). */
export function unpackState(b: Buffer, params: Float32Array[], template: DenseOptimizerState): DenseOptimizerState {
  const buffers = template.buffers.map((t) => new Float32Array(t.length));
  const total = count(params) + count(buffers);
  if (b.length !== 8 + 4 * total) throw new UserError(`the stored dense state has ${(b.length - 8) / 4} values, not ${total}: all workers must run the same config`);
  floatsInto(b, floatsInto(b, 8, params), buffers);
  return { step: b.readDoubleLE(0), buffers };
}
