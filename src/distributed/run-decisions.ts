/**
 * What the workers of a store run must agree on besides the per-round dense sync (coordinator.ts),
 * through keys under the coordinator's hash tag `{esmm:RUN:coord}`:
 *   :count:NAME:I  worker I's number for NAME (its partition's training rows), exchanged once at start
 *   :sums:NAME:I   worker I's named numbers (JSON) to be added up, e.g. the label counts of the output-bias init
 *   :stop:E        worker 0's early-stopping decision after epoch E ('1' stop, '0' go on), written
 *                  before worker 0 reaches the epoch barrier, so every worker reads it after the barrier
 * Kept apart from coordinator.ts (one more connection per worker) so the round loop's sync can
 * change without touching this.
 */
import type { Cluster } from 'ioredis';
import { UserError } from '../errors.js';
import type { Coordinator } from './coordinator.js';
import { connectCluster } from './redis-store.js';
import { withRetry } from './retry.js';

const TTL_SECONDS = 24 * 3600;

export class RunDecisions {
  private constructor(
    private readonly cluster: Cluster,
    private readonly coord: Coordinator,
    private readonly log: (line: string) => void,
  ) {}

  static async open(url: string, coord: Coordinator, log: (line: string) => void): Promise<RunDecisions> {
    return new RunDecisions(await connectCluster(url), coord, log);
  }

  private k(name: string): string {
    return `{esmm:${this.coord.run}:coord}:${name}`;
  }

  private retry<T>(what: string, op: () => Promise<T>): Promise<T> {
    return withRetry(this.cluster, what, op, this.log);
  }

  /** Publishes this worker's `value`, waits for every worker, returns all values (index = worker). */
  async shareCount(name: string, value: number): Promise<number[]> {
    const { worker, workers } = this.coord;
    await this.retry(`publishing ${name}`, () => this.cluster.set(this.k(`count:${name}:${worker}`), String(value), 'EX', TTL_SECONDS));
    await this.coord.barrier(`count:${name}`);
    const keys = Array.from({ length: workers }, (_, i) => this.k(`count:${name}:${i}`));
    const got = await this.retry(`reading ${name}`, () => this.cluster.mget(...keys));
    return got.map((v, i) => {
      if (v === null) throw new UserError(`run '${this.coord.run}': worker ${i} has not published its ${name}; restart the run`);
      return Number(v);
    });
  }

  /** Publishes this worker's named numbers, waits for every worker, returns their sums per name. */
  async shareSums(name: string, values: Record<string, number>): Promise<Record<string, number>> {
    const { worker, workers } = this.coord;
    await this.retry(`publishing ${name}`, () => this.cluster.set(this.k(`sums:${name}:${worker}`), JSON.stringify(values), 'EX', TTL_SECONDS));
    await this.coord.barrier(`sums:${name}`);
    const keys = Array.from({ length: workers }, (_, i) => this.k(`sums:${name}:${i}`));
    const got = await this.retry(`reading ${name}`, () => this.cluster.mget(...keys));
    const total: Record<string, number> = {};
    got.forEach((v, i) => {
      if (v === null) throw new UserError(`run '${this.coord.run}': worker ${i} has not published its ${name}; restart the run`);
      for (const [k, x] of Object.entries(JSON.parse(v) as Record<string, number>)) total[k] = (total[k] ?? 0) + x;
    });
    return total;
  }

  /** Worker 0, before the barrier of epoch `epoch`: whether every worker stops after it. */
  async publishStop(epoch: number, stop: boolean): Promise<void> {
    await this.retry('publishing the early-stopping decision', () => this.cluster.set(this.k(`stop:${epoch}`), stop ? '1' : '0', 'EX', TTL_SECONDS));
  }

  /** After the barrier of epoch `epoch`: worker 0's decision (missing, e.g. a store that lost the run: go on). */
  async readStop(epoch: number): Promise<boolean> {
    const v = await this.retry('reading the early-stopping decision', () => this.cluster.get(this.k(`stop:${epoch}`)));
    if (v === null) this.log(`worker ${this.coord.worker}: no early-stopping decision for epoch ${epoch} in the store; going on`);
    return v === '1';
  }

  async close(): Promise<void> {
    await this.cluster.quit().catch(() => this.cluster.disconnect());
  }
}
