/**
 * One FeatureSpec for every store worker: worker 0 fits it (DuckDB over all training files) and
 * publishes it under `{esmm:RUN:coord}:spec:KEY`; the others wait for it and use it as is.
 *
 * Why not let every worker fit it: DuckDB's parallel var_pop is not bit-reproducible (measured:
 * std 3.741499844091047 vs ...045 on the same 6,000 rows in two fits), so two workers would encode
 * numeric features differently in the last bits; and N workers on one host would run N fits of
 * the whole data at once. KEY is a hash of what the fit depends on (files, their sizes and
 * modification times, schema and features config), so a spec left by another run is never
 * picked up for other data, and a resumed run reuses its own.
 */
import { statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { connectCluster } from './redis-store.js';
import { withRetry } from './retry.js';

const TTL_SECONDS = 24 * 3600;

/** How load-partition.ts gets the one spec of a run: `fit` runs on worker 0 only. */
export interface SpecExchange {
  share(key: string, fit: () => Promise<string>): Promise<string>;
}

/** A key for the spec fitted on `files` under `config` (anything that changes the fit changes it). */
export function specKey(files: string[], config: unknown): string {
  const h = createHash('sha256');
  for (const f of files) {
    const st = statSync(f, { throwIfNoEntry: false });
    h.update(`${f}\0${st?.size ?? -1}\0${st?.mtimeMs ?? -1}\0`);
  }
  h.update(JSON.stringify(config));
  return h.digest('hex').slice(0, 16);
}

/** The spec exchange of a store run (a connection of its own, closed after the exchange). */
export function storeSpecExchange(url: string, run: string, worker: number, log: (line: string) => void): SpecExchange {
  return {
    async share(key, fit) {
      const cluster: Cluster = await connectCluster(url);
      const k = `{esmm:${run}:coord}:spec:${key}`;
      try {
        if (worker === 0) {
          // A resumed run (same data, same config) keeps the spec its tables were trained with.
          const kept = await withRetry(cluster, 'reading the feature spec', () => cluster.get(k), log);
          if (kept !== null) return kept;
          const json = await fit();
          await withRetry(cluster, 'publishing the feature spec', () => cluster.set(k, json, 'EX', TTL_SECONDS), log);
          return json;
        }
        const t0 = Date.now();
        let said = 0;
        for (;;) {
          const json = await withRetry(cluster, 'reading the feature spec', () => cluster.get(k), log);
          if (json !== null) return json;
          // No time limit: on a billion rows the fit takes long. Said after 10 s, then every minute.
          const waited = (Date.now() - t0) / 1000;
          if (waited > (said === 0 ? 10 : 60 * said)) {
            said++;
            log(`worker ${worker}: waiting ${Math.round(waited)} s for worker 0's feature spec (worker 0 fits it on all training files; it must run the same config on the same files)`);
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      } finally {
        await cluster.quit().catch(() => cluster.disconnect());
      }
    },
  };
}
