/**
 * A throw-away Redis Cluster on loopback for tests, benches and demos: N masters (+ one replica
 * each) of Debian's `redis-server`, on free 127.0.0.1 ports, in a temp dir, no persistence.
 * Nothing binds or is contacted beyond 127.0.0.1. `stop()` kills every process it started (by pid)
 * and removes the temp dir. It is not how a shop runs Redis: that is their own cluster, reached
 * through `--store redis://host:port`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface LocalClusterNode {
  port: number;
  process: ChildProcess;
}

/** True when redis-server and redis-cli are on PATH (tests skip with a reason otherwise). */
export async function redisAvailable(): Promise<boolean> {
  try {
    await run('redis-server', ['--version']);
    await run('redis-cli', ['--version']);
    return true;
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** `count` ports P with P and P + 10000 (the cluster bus) free on 127.0.0.1. */
export async function freePorts(count: number): Promise<number[]> {
  const out: number[] = [];
  let tries = 0;
  while (out.length < count) {
    if (++tries > 2000) throw new Error('no free loopback ports found for a local Redis Cluster');
    const p = 20000 + Math.floor(Math.random() * 25000);
    if (out.some((q) => Math.abs(q - p) < 2 || Math.abs(q + 10000 - p) < 2 || Math.abs(q - 10000 - p) < 2)) continue;
    if ((await portFree(p)) && (await portFree(p + 10000))) out.push(p);
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', HOST, '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

export class LocalCluster {
  private stopped = false;
  private readonly onExit = (): void => this.killAll();

  private constructor(
    readonly dir: string,
    readonly nodes: LocalClusterNode[],
  ) {
    process.once('exit', this.onExit);
  }

  /** `redis://127.0.0.1:P` of the first node (any node works as a cluster seed). */
  get url(): string {
    return `redis://${HOST}:${this.nodes[0]!.port}`;
  }

  get ports(): number[] {
    return this.nodes.map((n) => n.port);
  }

  /** Starts `masters` masters with `replicasPerMaster` replicas each and waits for cluster_state:ok. */
  static async start(masters = 3, replicasPerMaster = 1): Promise<LocalCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'esmm-redis-'));
    const ports = await freePorts(masters * (1 + replicasPerMaster));
    const nodes: LocalClusterNode[] = [];
    const cluster = new LocalCluster(dir, nodes);
    try {
      for (const port of ports) {
        const log = openSync(join(dir, `${port}.log`), 'a');
        const child = spawn(
          'redis-server',
          [
            '--port', String(port), '--bind', HOST, '--protected-mode', 'yes',
            '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
            // Fast failover for the fault tests: a master is judged down after 1 s.
            '--cluster-node-timeout', '1000',
            '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
          ],
          { stdio: ['ignore', log, log] },
        );
        closeSync(log);
        nodes.push({ port, process: child });
      }
      for (const { port } of nodes) await cluster.waitFor(port, async () => (await cli(port, 'PING')).trim() === 'PONG');
      await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'], { timeout: 60_000 });
      for (const { port } of nodes) await cluster.waitFor(port, async () => (await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'));
      // Replicas must have synced before a failover test can promote one.
      if (replicasPerMaster > 0) {
        for (const { port } of nodes) {
          await cluster.waitFor(port, async () => {
            const info = await cli(port, 'INFO', 'replication');
            return info.includes('role:master') || info.includes('master_link_status:up');
          });
        }
      }
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  private async waitFor(port: number, ok: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (await ok()) return;
      } catch {
        // not up yet
      }
      if (Date.now() > until) throw new Error(`local Redis node 127.0.0.1:${port} not ready after ${timeoutMs} ms (logs in ${this.dir})`);
      await sleep(100);
    }
  }

  /** Ports of the current masters (from CLUSTER NODES of a live node). */
  async masterPorts(): Promise<number[]> {
    for (const n of this.nodes) {
      if (n.process.exitCode !== null || n.process.signalCode !== null) continue;
      try {
        const text = await cli(n.port, 'CLUSTER', 'NODES');
        return text
          .split('\n')
          .map((l) => l.split(' '))
          .filter((f) => f.length > 2 && f[2]!.split(',').includes('master') && !f[2]!.includes('fail'))
          .map((f) => Number(f[1]!.split('@')[0]!.split(':')[1]));
      } catch {
        // try the next node
      }
    }
    throw new Error('no live node of the local cluster answers');
  }

  /** SIGKILLs the node on `port` (a fault test's crash). */
  kill(port: number): void {
    const n = this.nodes.find((x) => x.port === port);
    if (n === undefined) throw new Error(`no local node on port ${port}`);
    n.process.kill('SIGKILL');
  }

  /** Waits until every live node reports cluster_state:ok (after a failover). */
  async waitHealthy(timeoutMs = 60_000): Promise<void> {
    for (const n of this.nodes) {
      if (n.process.exitCode !== null || n.process.signalCode !== null) continue;
      await this.waitFor(n.port, async () => (await cli(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'), timeoutMs);
    }
  }

  private killAll(): void {
    for (const n of this.nodes) {
      if (n.process.exitCode === null && n.process.signalCode === null) n.process.kill('SIGKILL');
    }
  }

  /** Kills every node this cluster started and removes its temp dir. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.removeListener('exit', this.onExit);
    const exits = this.nodes.map(
      (n) => new Promise<void>((resolve) => {
        if (n.process.exitCode !== null || n.process.signalCode !== null) return resolve();
        n.process.once('exit', () => resolve());
      }),
    );
    this.killAll();
    await Promise.all(exits);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
