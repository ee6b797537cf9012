/**
 * The workers' step barrier and dense-parameter averaging, through keys under ONE hash tag
 * `{esmm:RUN:coord}` (so MGET over all workers' blobs is one command):
 *   :dense:R:I   worker I's dense parameters after round R (float64 row count, then float32 params)
 *   :arrived:NAME  set of the workers at a barrier (SADD: arriving twice, e.g. a restarted worker
 *                or a retry, counts once);  :go:NAME  wake-up tokens (BLPOP) pushed by a worker
 *                that saw the set complete
 *   :done        the last round whose barrier completed (a restarted worker resumes after it)
 *   :workers     the worker count the run started with
 *
 *   :base:R      the parameters every worker started round R from (written by worker R mod N
 *                before its own blob, so it exists whenever round R's barrier completed)
 *   :sum:R       the round's result, computed once by worker R mod N after the barrier; the
 *                others wait for it (:sumgo:R wake-up tokens)
 *
 * Synchronous every round (k = 1): all workers start round R from the same parameters `base`;
 * after its step each publishes its parameters p_i, waits for all N, and sets its parameters to
 *   base + sum_i (p_i - base)
 * (float64, summed in worker order, so every worker gets the same bits): the N steps' updates
 * are ADDED, as the store adds the sparse updates, so an epoch moves the dense parameters as far
 * as the single-process run does. (A plain mean halves the distance with 2 workers; measured on
 * 100k simulated rows, 1 epoch: CTCVR AUC .796 against the single process's .810.) A worker
 * with no rows in a round adds nothing. With N = 1 it is the single-process step, bit for bit.
 * The dense optimizer's moments stay local to each worker (the dense step runs inside the ORT
 * graph; a restarted worker's moments start from zero).
 */
import type { Cluster } from 'ioredis';
import { UserError } from '../errors.js';
import { connectCluster } from './redis-store.js';
import { withRetry } from './retry.js';

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

  /**
   * Round `round`: publish this worker's parameters (trained on `rows` rows this round, from
   * `base`), wait for every worker, then set `params` to base + sum of the workers' updates.
   */
  async average(round: number, rows: number, base: Float32Array[], params: Float32Array[]): Promise<void> {
    const mine = packParams(rows, params);
    await this.retry('publishing dense parameters', async () => {
      if (round % this.workers === this.worker) await this.cluster.set(this.k(`base:${round}`), packParams(0, base), 'EX', TTL_SECONDS);
      await this.cluster.set(this.k(`dense:${round}:${this.worker}`), mine, 'EX', TTL_SECONDS);
    });
    await this.barrier(`r${round}`);
    await this.retry('marking the round done', () => this.cluster.set(this.k('done'), String(round), 'EX', TTL_SECONDS));
    if (round % this.workers === this.worker) {
      // The round's designated worker reads the N blobs and publishes the result once (N·P bytes
      // out of the coordinator's node per round, not N²·P).
      await this.retry('summing dense parameters', () => this.combine(round, base, params));
      await this.publishSum(round, params);
    } else {
      await this.waitForSum(round, params);
    }
    // Everyone has read round-1's result before publishing this round's blob: drop the old keys.
    if (round > 0) {
      await this.retry('cleaning up', async () => {
        await this.cluster.del(this.k(`dense:${round - 1}:${this.worker}`));
        if (this.worker === 0) {
          const r = round - 1;
          await this.cluster.del(this.k(`arrived:r${r}`), this.k(`go:r${r}`), this.k(`base:${r}`), this.k(`sum:${r}`), this.k(`sumgo:${r}`));
        }
      });
    }
  }

  private async publishSum(round: number, params: Float32Array[]): Promise<void> {
    await this.retry('publishing summed dense parameters', async () => {
      await this.cluster.set(this.k(`sum:${round}`), packParams(0, params), 'EX', TTL_SECONDS);
      if (this.workers > 1) {
        await this.cluster.rpush(this.k(`sumgo:${round}`), ...new Array<string>(this.workers - 1).fill('1'));
        await this.cluster.expire(this.k(`sumgo:${round}`), TTL_SECONDS);
      }
    });
  }

  /** Waits for the designated worker's result of `round` (it may be restarting: say so every 10 s). */
  private async waitForSum(round: number, params: Float32Array[]): Promise<void> {
    const t0 = Date.now();
    let said = 0;
    for (;;) {
      const b = await this.retry('reading summed dense parameters', () => this.cluster.getBuffer(this.k(`sum:${round}`)));
      if (b !== null) {
        unpackParams(b, params, 'summed');
        return;
      }
      await this.retry('waiting for summed dense parameters', () => this.blocking.blpop(this.k(`sumgo:${round}`), 1));
      const waited = (Date.now() - t0) / 1000;
      if (waited > 10 * (said + 1)) {
        said++;
        this.log(`worker ${this.worker}: waiting ${Math.round(waited)} s for worker ${round % this.workers}'s dense sum of round ${round} (a stopped worker resumes with --resume)`);
      }
    }
  }

  /** A restarted worker: its parameters after the completed round `round` (base and blobs are still in the store). */
  async restore(round: number, params: Float32Array[]): Promise<void> {
    const b = await this.cluster.getBuffer(this.k(`base:${round}`));
    if (b === null) throw new UserError(`run '${this.run}': the dense parameters of round ${round} are no longer in the store; the run cannot be resumed`);
    const sum = await this.cluster.getBuffer(this.k(`sum:${round}`));
    if (sum !== null) {
      unpackParams(sum, params, 'summed');
      return;
    }
    const base = params.map((p) => new Float32Array(p.length));
    unpackParams(b, base, 'base');
    await this.combine(round, base, params);
    // The designated worker may have died before publishing: publishing the same bits again is harmless.
    await this.publishSum(round, params);
  }

  /** Re-creates the coordinator state of a completed round from a snapshot (a store that lost the run). */
  async restoreRound(round: number, params: Float32Array[]): Promise<void> {
    await this.cluster.set(this.k('workers'), String(this.workers), 'EX', TTL_SECONDS);
    await this.cluster.set(this.k(`base:${round}`), packParams(0, params), 'EX', TTL_SECONDS);
    // Every worker's blob adds nothing (0 rows): the round's result is `params`.
    for (let i = 0; i < this.workers; i++) await this.cluster.set(this.k(`dense:${round}:${i}`), packParams(0, params), 'EX', TTL_SECONDS);
    await this.cluster.set(this.k('done'), String(round), 'EX', TTL_SECONDS);
  }

  /** params = base + sum over workers of (p_i - base), in float64, worker order. */
  private async combine(round: number, base: Float32Array[], params: Float32Array[]): Promise<void> {
    const keys = Array.from({ length: this.workers }, (_, i) => this.k(`dense:${round}:${i}`));
    const blobs = await this.cluster.mgetBuffer(...keys);
    const total = params.reduce((s, p) => s + p.length, 0);
    const flatBase = new Float64Array(total);
    let j = 0;
    for (const p of base) for (let d = 0; d < p.length; d++) flatBase[j++] = p[d]!;
    const acc = Float64Array.from(flatBase);
    const f = params.map((p) => new Float32Array(p.length));
    blobs.forEach((b, i) => {
      if (b === null || b === undefined) throw new Error(`dense parameters of worker ${i}, round ${round} are missing from the store`);
      if (unpackParams(b, f, `worker ${i}`) === 0) return;
      let k = 0;
      for (const p of f) for (let d = 0; d < p.length; d++, k++) acc[k] += p[d]! - flatBase[k]!;
    });
    j = 0;
    for (const p of params) for (let d = 0; d < p.length; d++) p[d] = acc[j++]!;
  }

  async close(): Promise<void> {
    await Promise.all([this.cluster.quit().catch(() => this.cluster.disconnect()), this.blocking.quit().catch(() => this.blocking.disconnect())]);
  }
}

/** float64 row count, then every array's float32 values. */
function packParams(rows: number, params: Float32Array[]): Buffer {
  const total = params.reduce((s, p) => s + p.length, 0);
  const blob = Buffer.alloc(8 + 4 * total);
  blob.writeDoubleLE(rows, 0);
  let off = 8;
  for (const p of params) {
    Buffer.from(p.buffer, p.byteOffset, p.byteLength).copy(blob, off);
    off += p.byteLength;
  }
  return blob;
}

/** Unpacks a blob into `into` (shapes checked); returns its row count. */
function unpackParams(b: Buffer, into: Float32Array[], who: string): number {
  const total = into.reduce((s, p) => s + p.length, 0);
  if (b.length !== 8 + 4 * total) throw new UserError(`${who}'s dense parameters have ${(b.length - 8) / 4} values, not ${total}: all workers must run the same config`);
  let off = 8;
  for (const p of into) {
    new Uint8Array(p.buffer, p.byteOffset, p.byteLength).set(b.subarray(off, off + p.byteLength));
    off += p.byteLength;
  }
  return b.readDoubleLE(0);
}
