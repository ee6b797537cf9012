/**
 * Retrying store commands through a Redis failover: while a replica is being promoted, commands
 * to the dead master fail (connection closed, CLUSTERDOWN, too many retries); after the slot map
 * is refreshed they succeed again. Only idempotent operations go through here: reads, SET, SADD,
 * and the row pushes, which carry a (worker, round) marker so a repeated push is skipped
 * server-side (redis-functions.ts).
 */
import type { Cluster } from 'ioredis';

const TRANSIENT = /^MOVED |^ASK |Connection is closed|CLUSTERDOWN|ECONNREFUSED|ECONNRESET|EPIPE|MaxRetriesPerRequest|max retries|TRYAGAIN|Failed to refresh slots|None of startup nodes|Too many Cluster redirections|LOADING|MASTERDOWN|READONLY|Stream isn't writeable|timed? ?out/i;

export function isTransient(e: unknown): boolean {
  return e instanceof Error && TRANSIENT.test(e.message);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `op`, retrying transient failures (slot map refreshed in between) for up to `budgetMs`. */
export async function withRetry<T>(cluster: Cluster, what: string, op: () => Promise<T>, log?: (line: string) => void, budgetMs = 60_000): Promise<T> {
  const until = Date.now() + budgetMs;
  let said = false;
  for (;;) {
    try {
      return await op();
    } catch (e) {
      if (!isTransient(e) || Date.now() > until) throw e;
      if (!said) {
        said = true;
        log?.(`store: ${what} failed (${(e as Error).message}); retrying while the cluster recovers`);
      }
      cluster.refreshSlotsCache();
      await sleep(300);
    }
  }
}
