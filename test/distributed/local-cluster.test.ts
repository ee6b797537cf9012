import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LocalCluster, redisAvailable } from '../../src/distributed/local-cluster.js';

const haveRedis = await redisAvailable();

describe.skipIf(!haveRedis)('local Redis Cluster harness (skipped without redis-server)', () => {
  it('starts 3 masters + 3 replicas on loopback, serves all 16384 slots, and leaves nothing behind', async () => {
    const cluster = await LocalCluster.start(3, 1);
    let dir = '';
    try {
      dir = cluster.dir;
      expect(cluster.ports).toHaveLength(6);
      const info = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(cluster.ports[0]), 'CLUSTER', 'INFO'], { encoding: 'utf8' });
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_slots_assigned:16384');
      expect(info).toContain('cluster_known_nodes:6');
      expect((await cluster.masterPorts()).length).toBe(3);
    } finally {
      await cluster.stop();
    }
    expect(existsSync(dir)).toBe(false);
    for (const n of cluster.nodes) expect(n.process.exitCode !== null || n.process.signalCode !== null).toBe(true);
  });
});
