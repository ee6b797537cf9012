/**
 * `esmm train --store redis://... --worker I/N` and `esmm launch` on a real 3-master +
 * 3-replica loopback cluster:
 * - one worker through the store trains the very model the in-process trainer does (dense
 *   parameters and every table row bit-identical): the pull / gather / record / push path and the
 *   Lua optimizer together change nothing;
 * - one worker stopped with Ctrl-C and resumed with --resume still trains that model bit for bit
 *   (the dense parameters AND Adam moments of the last round come back from the store), and so
 *   does one resumed from its epoch-end snapshot after the store was flushed;
 * - 2 workers refuse a model whose gradients cannot be weighted by row share, in one line;
 * - 2 worker processes reach the single-process AUC on the simulator;
 * - an unreachable store stops `esmm train` in one line before any data is read.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, freePorts, redisAvailable } from '../../src/distributed/local-cluster.js';
import { readTables } from '../../src/models/table-files.js';
import type { EmbeddingTable } from '../../src/embedding/table.js';
import { runCli, tempDir } from '../cli/helpers.js';
import { metrics, runBin, startBin, synthConfig, waitForRound } from './helpers.js';
import { connectCluster } from '../../src/distributed/redis-store.js';
import type { Cluster } from 'ioredis';

const haveRedis = await redisAvailable();

function modelTables(dir: string): Map<string, EmbeddingTable[]> {
  const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { tables: Parameters<typeof readTables>[0] };
  return readTables(manifest.tables, (f) => new Uint8Array(readFileSync(join(dir, f))));
}

describe('esmm train --store: unreachable store', () => {
  it('says so in one line, exits non-zero, and reads no data', async () => {
    const dir = tempDir();
    const [port] = await freePorts(1); // free: nothing listens there
    const r = await runCli(['train', '--config', synthConfig(dir, 2000, 1), '--out', join(dir, 'm'), '--quiet', '--store', `redis://127.0.0.1:${port}`]);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`esmm train: error: cannot reach the Redis Cluster at redis://127.0.0.1:${port} (ECONNREFUSED); start it or fix --store`);
  });
});

describe.skipIf(!haveRedis)('esmm train --store on a 3-master + 3-replica loopback cluster (skipped without redis-server)', () => {
  let cluster: LocalCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await LocalCluster.start(3, 1);
    client = await connectCluster(cluster.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('one worker through the store trains the in-process model bit for bit (params and every row)', async () => {
    const dir = tempDir();
    const cfg = synthConfig(dir, 6000, 2);
    const local = await runCli(['train', '--config', cfg, '--out', join(dir, 'local'), '--quiet']);
    expect(local.code, local.stderr).toBe(0);
    const viaStore = await runCli(['train', '--config', cfg, '--out', join(dir, 'store'), '--quiet', '--store', cluster.url, '--run-id', 'one-worker']);
    expect(viaStore.code, viaStore.stderr).toBe(0);
    expect(readFileSync(join(dir, 'store', 'params.bin')).equals(readFileSync(join(dir, 'local', 'params.bin')))).toBe(true);
    const a = modelTables(join(dir, 'local'));
    const b = modelTables(join(dir, 'store'));
    let rows = 0;
    for (const [group, ts] of a) {
      ts.forEach((t, i) => {
        const other = b.get(group)![i]!;
        // Rows are saved in touch order, which differs: compare by id.
        expect(new Int32Array(other.denseWeights().buffer)).toEqual(new Int32Array(t.denseWeights().buffer));
        expect(other.allocatedRows()).toBe(t.allocatedRows());
        rows += t.allocatedRows();
      });
    }
    expect(rows).toBeGreaterThan(100);
  });

  it('train.lr_decay: one worker through the store (the Lua step takes the decayed rate) still trains the in-process model bit for bit', async () => {
    const dir = tempDir();
    const plain = synthConfig(dir, 6000, 2);
    const cfg = join(dir, 'decay.yaml');
    writeFileSync(cfg, readFileSync(plain, 'utf8').replace('early_stopping: false }', 'early_stopping: false, lr_decay: 0.5 }'));
    const undecayed = await runCli(['train', '--config', plain, '--out', join(dir, 'plain'), '--quiet']);
    expect(undecayed.code, undecayed.stderr).toBe(0);
    const local = await runCli(['train', '--config', cfg, '--out', join(dir, 'local'), '--quiet']);
    expect(local.code, local.stderr).toBe(0);
    expect(readFileSync(join(dir, 'local', 'params.bin')).equals(readFileSync(join(dir, 'plain', 'params.bin')))).toBe(false); // the decay did something
    const viaStore = await runCli(['train', '--config', cfg, '--out', join(dir, 'store'), '--quiet', '--store', cluster.url, '--run-id', 'one-worker-decay']);
    expect(viaStore.code, viaStore.stderr).toBe(0);
    expect(readFileSync(join(dir, 'store', 'params.bin')).equals(readFileSync(join(dir, 'local', 'params.bin')))).toBe(true);
    const a = modelTables(join(dir, 'local'));
    const b = modelTables(join(dir, 'store'));
    for (const [group, ts] of a) ts.forEach((t, i) => expect(new Int32Array(b.get(group)![i]!.denseWeights().buffer)).toEqual(new Int32Array(t.denseWeights().buffer)));
  });

  it('one worker stopped with SIGINT mid-epoch and resumed with --resume still trains the in-process model bit for bit (the dense Adam moments resume too)', async () => {
    const dir = tempDir();
    const cfg = synthConfig(dir, 20_000, 2);
    const local = await runCli(['train', '--config', cfg, '--out', join(dir, 'local'), '--quiet']);
    expect(local.code, local.stderr).toBe(0);
    const args = ['train', '--config', cfg, '--out', join(dir, 'store'), '--quiet', '--store', cluster.url, '--run-id', 'sigint'];
    const first = startBin(args);
    await waitForRound(client, 'sigint', 8);
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    const again = await runBin([...args, '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/worker 0: resuming at round \d+ \(epoch 1,/);
    expect(readFileSync(join(dir, 'store', 'params.bin')).equals(readFileSync(join(dir, 'local', 'params.bin')))).toBe(true);
    const a = modelTables(join(dir, 'local'));
    const b = modelTables(join(dir, 'store'));
    for (const [group, ts] of a) ts.forEach((t, i) => expect(new Int32Array(b.get(group)![i]!.denseWeights().buffer)).toEqual(new Int32Array(t.denseWeights().buffer)));
  });

  it('one worker SIGKILLed after its epoch-1 snapshot, the store flushed, resumed from the snapshot: still the in-process model bit for bit (moments in the snapshot)', async () => {
    const dir = tempDir();
    const cfg = synthConfig(dir, 20_000, 2);
    const local = await runCli(['train', '--config', cfg, '--out', join(dir, 'local'), '--quiet']);
    expect(local.code, local.stderr).toBe(0);
    const out = join(dir, 'store');
    const args = ['train', '--config', cfg, '--out', out, '--quiet', '--store', cluster.url, '--run-id', 'snap-one'];
    const first = startBin(args);
    const snapshot = join(out, 'store-checkpoint', 'store-state.json');
    const until = Date.now() + 120_000;
    while (!existsSync(snapshot)) {
      if (Date.now() > until) throw new Error('no store snapshot was written after epoch 1');
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    await Promise.all(client.nodes('master').map((n) => n.flushall()));
    const again = await runBin([...args, '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/worker 0: restored run 'snap-one' from its epoch-1 snapshot/);
    expect(readFileSync(join(out, 'params.bin')).equals(readFileSync(join(dir, 'local', 'params.bin')))).toBe(true);
    const a = modelTables(join(dir, 'local'));
    const b = modelTables(out);
    for (const [group, ts] of a) ts.forEach((t, i) => expect(new Int32Array(b.get(group)![i]!.denseWeights().buffer)).toEqual(new Int32Array(t.denseWeights().buffer)));
  });

  it('a second run under the same --run-id is refused without --resume (one line)', async () => {
    const dir = tempDir();
    const cfg = synthConfig(dir, 2000, 1);
    const first = await runCli(['train', '--config', cfg, '--out', join(dir, 'a'), '--quiet', '--store', cluster.url, '--run-id', 'reused']);
    expect(first.code, first.stderr).toBe(0);
    const again = await runCli(['train', '--config', cfg, '--out', join(dir, 'b'), '--quiet', '--store', cluster.url, '--run-id', 'reused']);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split('\n').at(-1)).toMatch(/^esmm train: error: run 'reused' already has state in the store .*pass --resume to continue it, or another --run-id$/);
  });

  it('2 workers refuse, in one line, a model whose loss is not a mean over the batch rows (gradients cannot be weighted by row share)', async () => {
    const dir = tempDir();
    const cfg = synthConfig(dir, 2000, 1);
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('name: esmm', 'name: naive_cvr'));
    const r = await runCli(['train', '--config', cfg, '--out', join(dir, 'm'), '--quiet', '--store', cluster.url, '--run-id', 'refused', '--worker', '0/2']);
    expect(r.code).not.toBe(0);
    // (the data-loading lines come first; the error is the one last line)
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => l.includes('error'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^esmm train: error: 2 store workers \(--worker\) cannot train model 'naive_cvr' \(its loss 'cvr' is a mean over the batch's clicked rows.*\); train it with one worker$/);
  });

  it('2 workers (esmm launch) reach the single-process AUC on 100k simulated rows', async () => {
    const dir = tempDir();
    const cfg = synthConfig(dir, 100_000, 1);
    const single = await runCli(['train', '--config', cfg, '--out', join(dir, 'single'), '--quiet']);
    expect(single.code, single.stderr).toBe(0);
    const two = await runBin(['launch', '--workers', '2', '--store', cluster.url, '--run-id', 'two-workers', '--config', cfg, '--out', join(dir, 'two'), '--quiet']);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr).toContain('[w1] worker 1/2 finished; worker 0 writes the model');
    const s = metrics(join(dir, 'single'));
    const t = metrics(join(dir, 'two'));
    // CTR AUC (thousands of clicks in the test split): within 0.005 (measured +0.0018 with the
    // gradient sync). CTCVR AUC rests on ~100 buys here: the single process itself, trained on 6
    // other row orders (same seed), lands anywhere in 0.794-0.817 (0.810 with its own order), so
    // it is held to 0.02 (measured: -0.010; -0.015 to -0.018 before the workers adopted worker
    // 0's initial dense state). docs/distributed.md has the 400k-row figures.
    expect(Math.abs(t.auc_ctr! - s.auc_ctr!), `ctr ${t.auc_ctr} vs ${s.auc_ctr}`).toBeLessThan(0.005);
    expect(Math.abs(t.auc_ctcvr! - s.auc_ctcvr!), `ctcvr ${t.auc_ctcvr} vs ${s.auc_ctcvr}`).toBeLessThan(0.02);
    // The 2-worker model directory is an ordinary one (its tables load like any model's).
    expect(modelTables(join(dir, 'two')).size).toBeGreaterThan(0);
  });
});
