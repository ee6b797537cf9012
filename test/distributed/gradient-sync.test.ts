/**
 * The dense gradient sync of store workers (coordinator.ts, round-plan.ts):
 * - a round is one batch of train.batch_size split over the workers, and the row shares add up;
 * - 2 coordinators on a real loopback cluster merge their weighted gradients into the same bits,
 *   so the same optimizer step keeps parameters and moments bit-identical on both;
 * - a restarted worker gets exactly the live worker's dense state back (parameters, Adam moments
 *   and step count), from the next round's stored start or from the last round's start plus its
 *   summed gradient (recomputed when the designated worker died before publishing it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinator } from '../../src/distributed/coordinator.js';
import { LocalCluster, redisAvailable } from '../../src/distributed/local-cluster.js';
import { connectCluster } from '../../src/distributed/redis-store.js';
import { modPartitionSizes, roundPlan, roundRows, workerRoundRows } from '../../src/distributed/round-plan.js';
import { DenseOptimizer } from '../../src/optim/dense.js';
import { randomFloats } from '../embedding/helpers.js';

const haveRedis = await redisAvailable();

describe('round plan', () => {
  it('one round is one batch of train.batch_size split over the workers; 1 worker is the single process', () => {
    const p = roundPlan(1024, modPartitionSizes(320_001, 2));
    expect(p.partRows).toEqual([160_001, 160_000]);
    expect(p.batch).toEqual([512, 512]);
    expect(p.rounds).toBe(Math.ceil(160_001 / 512));
    let total = 0;
    for (let r = 0; r < p.rounds; r++) {
      total += roundRows(p, r);
      if (r < p.rounds - 1) expect(roundRows(p, r)).toBe(1024);
    }
    expect(total).toBe(320_001);
    expect(workerRoundRows(p, 1, p.rounds - 1)).toBe(160_000 - 312 * 512);
    const one = roundPlan(256, modPartitionSizes(4800, 1));
    expect(one).toEqual({ batch: [256], partRows: [4800], rounds: Math.ceil(4800 / 256) });
    const odd = roundPlan(5, modPartitionSizes(12, 3));
    expect(odd.batch).toEqual([2, 2, 1]);
    expect(odd.rounds).toBe(4); // worker 2: 4 rows at 1 per round
    expect(() => roundPlan(2, [5, 5, 5])).toThrow(/train.batch_size 2 is one round's batch over all 3 workers/);
  });
});

describe.skipIf(!haveRedis)('dense gradient sync through the coordinator (skipped without redis-server)', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await LocalCluster.start(3, 0);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const shapes = [7, 33, 1];
  const log = (): void => {};
  interface Worker { coord: Coordinator; params: Float32Array[]; opt: DenseOptimizer; sum: Float32Array[] }
  async function worker(run: string, i: number): Promise<Worker> {
    const coord = await Coordinator.open(cluster.url, run, i, 2, log);
    await coord.checkWorkers();
    const params = shapes.map((n, k) => randomFloats(n, 100 + k, 0.1)); // the same init on every worker
    return { coord, params, opt: new DenseOptimizer(params, { type: 'adam', lr: 0.01 }), sum: shapes.map((n) => new Float32Array(n)) };
  }
  /** Round r of worker w: rows of 300 in the round, a gradient that differs per worker and round. */
  async function round(w: Worker, i: number, r: number): Promise<void> {
    if (r % 2 === i) await w.coord.publishState(r, w.params, w.opt.state());
    const rows = i === 0 ? 200 : 100;
    const share = rows / 300;
    const grads = shapes.map((n, k) => randomFloats(n, 1000 * r + 10 * i + k, 1).map((g) => share * g));
    await w.coord.syncGradients(r, rows, 300, grads, w.sum);
    w.opt.step(w.sum);
  }
  const bits = (a: Float32Array[]): number[] => a.flatMap((x) => Array.from(new Int32Array(x.buffer, x.byteOffset, x.length)));

  it('both workers step the same optimizer on the same summed gradient: parameters and moments stay bit-identical', async () => {
    const [a, b] = await Promise.all([worker('gs', 0), worker('gs', 1)]);
    try {
      for (let r = 0; r < 5; r++) {
        await Promise.all([round(a, 0, r), round(b, 1, r)]);
        expect(bits(a.params)).toEqual(bits(b.params));
        expect(bits(a.opt.state().buffers)).toEqual(bits(b.opt.state().buffers));
      }
      // The sum is the weighted gradients added in float64 and rounded once.
      const expected = shapes.map((n, k) => {
        const g0 = randomFloats(n, 4000 + k, 1).map((g) => (200 / 300) * g);
        const g1 = randomFloats(n, 4010 + k, 1).map((g) => (100 / 300) * g);
        return g0.map((x, d) => x + g1[d]!);
      });
      expect(bits(a.sum)).toEqual(bits(expected));
      expect(a.opt.steps).toBe(5);

      // A restarted worker 1 after round 4 (no state of round 5 stored yet): round 4's start + its sum.
      const c = await worker('gs', 1);
      const back = await c.coord.restore(4, c.params, c.opt.state(), c.sum);
      expect(back.applySum).toBe(true);
      c.opt.restore(back.state);
      c.opt.step(c.sum);
      expect(bits(c.params)).toEqual(bits(a.params));
      expect(bits(c.opt.state().buffers)).toEqual(bits(a.opt.state().buffers));
      expect(c.opt.steps).toBe(5);
      await c.coord.close();

      // The designated worker of round 4 died before publishing the sum: it is recomputed from the gradients.
      const client = await connectCluster(cluster.url);
      await client.del('{esmm:gs:coord}:sum:4');
      client.disconnect();
      const d = await worker('gs', 1);
      const again = await d.coord.restore(4, d.params, d.opt.state(), d.sum);
      d.opt.restore(again.state);
      d.opt.step(d.sum);
      expect(bits(d.params)).toEqual(bits(a.params));
      await d.coord.close();

      // Round 5's start stored (worker 1 is its designated worker): taken as is.
      await b.coord.publishState(5, b.params, b.opt.state());
      const e = await worker('gs', 0);
      const next = await e.coord.restore(4, e.params, e.opt.state(), e.sum);
      expect(next.applySum).toBe(false);
      e.opt.restore(next.state);
      expect(bits(e.params)).toEqual(bits(a.params));
      expect(bits(e.opt.state().buffers)).toEqual(bits(a.opt.state().buffers));
      expect(e.opt.steps).toBe(5);
      await e.coord.close();
    } finally {
      await Promise.all([a.coord.close(), b.coord.close()]);
    }
  });

  it('workers that weighted their gradients for different rounds are stopped in one line', async () => {
    const [a, b] = await Promise.all([worker('gs-bad', 0), worker('gs-bad', 1)]);
    await a.coord.publishState(0, a.params, a.opt.state());
    const g = shapes.map((n) => new Float32Array(n));
    await Promise.all([a.coord.syncGradients(0, 200, 300, g, a.sum), b.coord.syncGradients(0, 100, 300, g, b.sum)]);
    await Promise.all([a.coord.close(), b.coord.close()]);
    // Worker 1's blob as a worker that counted 250 rows in the round would have written it; the sum lost.
    const client = await connectCluster(cluster.url);
    const blob = Buffer.alloc(16 + 4 * 41);
    blob.writeDoubleLE(100, 0);
    blob.writeDoubleLE(250, 8);
    await client.set('{esmm:gs-bad:coord}:grad:0:1', blob);
    await client.del('{esmm:gs-bad:coord}:sum:0');
    client.disconnect();
    const c = await worker('gs-bad', 1);
    try {
      await expect(c.coord.restore(0, c.params, c.opt.state(), c.sum)).rejects.toThrow(
        'round 0: the workers trained 300 rows but weighted their gradients for 300 / 250; all workers must run the same config on the same data');
    } finally {
      await c.coord.close();
    }
  });
});
