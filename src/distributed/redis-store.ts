/**
 * Embedding rows in a Redis Cluster (table-store.ts's interface).
 *
 * Keys: `{esmm:RUN:G}:T:ID` for row ID of table T, G = ID mod groups. The braces are the hash tag,
 * so every row of a group G (of all tables) lands in one slot: a batch's rows of one group travel
 * in ONE MGET or ONE FCALL (a cluster requires the keys of a command to share a slot). Too few
 * groups would put everything on one node; `groups` (default 128) spreads the rows over 128
 * slots and so over every master (~43 each of 3), while a step costs at most `groups` commands
 * per direction, sent in one auto-pipelined round per node. (Measured at batch 1024, 1 worker:
 * 1024 groups gave pull 57 ms + push 169 ms per round, 128 groups 23 + 87 ms.)
 *
 * Values: the row record of EmbeddingTable as float32/int32 little-endian bytes (see
 * redis-functions.ts), followed while a round's gradient is pending by its float32 sum and a
 * trailer. All reads and writes go through the library's functions (esmm_read applies a complete
 * round's pending sum before returning the record; esmm_step sums a push into the round's pending
 * sum), one FCALL per hash-tag group; restoring a snapshot writes plain records (MSET).
 */
import { connect as tcpConnect } from 'node:net';
import { Cluster } from 'ioredis';
import { UserError } from '../errors.js';
import { tableSeedKey, writeInitialRow } from '../embedding/row-init.js';
import { FUNCTION_SOURCE, READ_FUNCTION, STEP_FUNCTION } from './redis-functions.js';
import { withRetry } from './retry.js';
import { stateWordsOf, type PullRequest, type PulledRows, type PushRequest, type RowBlock, type TableSpec, type TableStore } from './table-store.js';

export interface RedisStoreOptions {
  /** Names this run's keys; workers of one run share it. Letters, digits, '_', '.', '-'. */
  run: string;
  /** Hash-tag groups (slots) the rows spread over (default 128). */
  groups?: number;
  /** Where retries during a failover are reported. */
  log?: (line: string) => void;
}

const RUN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** host and port of a `redis://host:port` URL (no credentials, no database number: cluster mode has one). */
export function parseRedisUrl(url: string): { host: string; port: number } {
  const m = /^redis:\/\/([^:/@\s]+):(\d{1,5})\/?$/.exec(url);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port > 0 && port < 65536)) {
    throw new UserError(`--store must look like redis://host:port (a node of the Redis Cluster), got '${url}'`);
  }
  return { host: m[1]!, port };
}

/** Connects to a Redis Cluster with the retry settings the store relies on; one clear line when nobody answers. */
export async function connectCluster(url: string): Promise<Cluster> {
  const { host, port } = parseRedisUrl(url);
  // ioredis reports a refused seed only as "Connection is closed": probe the port first for the cause.
  const refused = await new Promise<string | undefined>((resolve) => {
    const sock = tcpConnect({ host, port, timeout: 3000 });
    sock.once('connect', () => {
      sock.destroy();
      resolve(undefined);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve('no answer in 3 s');
    });
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  if (refused !== undefined) throw new UserError(`cannot reach the Redis Cluster at ${url} (${refused}); start it or fix --store`);
  let lastError = '';
  const cluster = new Cluster([{ host, port }], {
    lazyConnect: true,
    enableAutoPipelining: true,
    // At start: give up after a few tries (one clear line). Later (a failover): ioredis refreshes
    // the slot map and retries commands that met MOVED / CLUSTERDOWN / a closed connection.
    clusterRetryStrategy: (times) => (times > 3 ? null : 200 * times),
    retryDelayOnFailover: 300,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 300,
    maxRedirections: 64,
    slotsRefreshTimeout: 2000,
    redisOptions: { connectTimeout: 3000, maxRetriesPerRequest: 40 },
  });
  let nodeError = '';
  cluster.on('error', (e: Error) => {
    lastError = e.message;
  });
  // The cause (ECONNREFUSED, a timeout) comes with the node's error; the cluster's says only "Failed to refresh slots cache".
  cluster.on('node error', (e: Error) => {
    nodeError = e.message;
  });
  try {
    await cluster.connect();
  } catch (e) {
    cluster.disconnect();
    const why = nodeError !== '' ? nodeError : lastError !== '' ? lastError : (e as Error).message;
    throw new UserError(`cannot reach the Redis Cluster at ${url} (${why}); start it or fix --store`);
  }
  return cluster;
}

/** Optimizer header of the step function (kind dim lr l2 h1 h2 h3), as exact decimal strings. */
function stepHeader(spec: TableSpec, lr: number): string[] {
  const o = spec.optimizer;
  const s = (x: number): string => String(x); // JS's shortest round-trip form: Lua's tonumber reads the same double
  switch (o.type) {
    case 'sgd':
      return ['sgd', s(spec.dim), s(lr), s(spec.l2), '0', '0', '0'];
    case 'adagrad':
      return ['adagrad', s(spec.dim), s(lr), s(spec.l2), s(o.initialAccumulator ?? 0), s(o.eps ?? 1e-8), '0'];
    case 'adam':
      return ['adam', s(spec.dim), s(lr), s(spec.l2), s(o.beta1 ?? 0.9), s(o.beta2 ?? 0.999), s(o.eps ?? 1e-8)];
    case 'ftrl':
      return ['ftrl', s(spec.dim), s(lr), s(spec.l2), s(o.l1 ?? 0), s(o.l2 ?? 0), s(o.beta ?? 1)];
  }
}

export class RedisTableStore implements TableStore {
  readonly groups: number;
  private readonly lr: number[];
  private readonly seedKeys: number[];
  private readonly stateWords: number[];
  /** 1 for a frequency-aware table (its record ends with the row's occurrence count), else 0. */
  private readonly countWords: number[];
  /** Server-side work counters (bench: the store's share of a step). */
  readonly stats = { pulls: 0, pushes: 0, rowsPulled: 0, rowsPushed: 0, rowsCreated: 0, bytesOut: 0, bytesIn: 0 };

  private constructor(
    readonly cluster: Cluster,
    readonly specs: readonly TableSpec[],
    readonly run: string,
    groups: number,
    private readonly log?: (line: string) => void,
  ) {
    this.groups = groups;
    this.lr = specs.map((s) => s.optimizer.lr);
    this.seedKeys = specs.map((s) => tableSeedKey(s.name, s.seed));
    this.stateWords = specs.map(stateWordsOf);
    this.countWords = specs.map((s) => (s.l2Frequency === true ? 1 : 0));
  }

  /** Connects, loads the step function on every master, and returns the store. */
  static async open(url: string, specs: readonly TableSpec[], opts: RedisStoreOptions): Promise<RedisTableStore> {
    if (!RUN_NAME.test(opts.run)) throw new UserError(`--run-id must be 1-64 letters, digits, '_', '.' or '-', got '${opts.run}'`);
    const groups = opts.groups ?? 128;
    if (!Number.isInteger(groups) || groups < 1 || groups > 16384) throw new UserError(`store groups must be an integer in 1..16384, got ${groups}`);
    const cluster = await connectCluster(url);
    const store = new RedisTableStore(cluster, specs, opts.run, groups, opts.log);
    await store.loadFunction();
    return store;
  }

  /** FUNCTION LOAD REPLACE on every master (replicas receive it by replication). */
  async loadFunction(): Promise<void> {
    await Promise.all(this.cluster.nodes('master').map((n) => n.call('FUNCTION', 'LOAD', 'REPLACE', FUNCTION_SOURCE)));
  }

  key(table: number, id: number): string {
    return `{esmm:${this.run}:${id % this.groups}}:${table}:${id}`;
  }

  /** Key prefix of this run (SCAN pattern; every key starts with it). */
  get prefix(): string {
    return `{esmm:${this.run}:`;
  }

  /** Reads rows through esmm_read (one FCALL per group): as of the end of round - 1, or with every pending sum applied. */
  private readRows(keys: string[], round: number | undefined): Promise<(Buffer | null)[]> {
    // fcallBuffer exists (ioredis generates a Buffer variant of every command) but is missing from
    // its typings; callBuffer('FCALL', ...) loses its command name under auto-pipelining (5.11).
    const c = this.cluster as unknown as { fcallBuffer(...args: (string | number)[]): Promise<(Buffer | null)[]> };
    return c.fcallBuffer(READ_FUNCTION, keys.length, ...keys, round === undefined ? '' : String(round));
  }

  /** `round`: the reader's round (rows as of the end of round - 1); without it every pending round's sum is applied. */
  async pull(requests: PullRequest[], round?: number): Promise<PulledRows[]> {
    const out = requests.map(({ table, ids }) => {
      const spec = this.specs[table]!;
      return { weights: new Float32Array(ids.length * spec.dim), state: new Int32Array(ids.length * this.stateWords[table]!), present: new Uint8Array(ids.length) };
    });
    // Group (request, index) pairs by hash-tag group: one FCALL per group.
    const byGroup = new Map<number, { keys: string[]; where: number[] }>();
    requests.forEach(({ table, ids }, r) => {
      for (let i = 0; i < ids.length; i++) {
        const g = ids[i]! % this.groups;
        let e = byGroup.get(g);
        if (e === undefined) byGroup.set(g, (e = { keys: [], where: [] }));
        e.keys.push(this.key(table, ids[i]!));
        e.where.push(r, i);
      }
    });
    const groups = [...byGroup.values()];
    const replies = await withRetry(this.cluster, 'pull', () => Promise.all(groups.map((e) => this.readRows(e.keys, round))), this.log);
    this.stats.pulls++;
    groups.forEach((e, gi) => {
      const values = replies[gi]!;
      for (let k = 0; k < values.length; k++) {
        const r = e.where[2 * k]!;
        const i = e.where[2 * k + 1]!;
        const { table, ids } = requests[r]!;
        const spec = this.specs[table]!;
        const dst = out[r]!;
        const v = values[k];
        this.stats.rowsPulled++;
        if (v === null || v === undefined) {
          writeInitialRow(this.seedKeys[table]!, ids[i]!, spec.initStd, spec.dim, dst.weights, i * spec.dim);
          continue;
        }
        this.stats.bytesIn += v.length;
        decodeRow(v, spec.dim, this.stateWords[table]!, this.countWords[table]!, dst, i, this.key(table, ids[i]!));
      }
    });
    return out;
  }

  /**
   * With `tag` (a worker's round), each FCALL also carries the worker's marker key of its slot, so
   * that a retried or redone push of that round is applied once (see redis-functions.ts).
   */
  async push(requests: PushRequest[], tag?: { worker: number; round: number }): Promise<void> {
    // One FCALL per (group, optimizer header): all tables of a model share the header, so one per group.
    // Frequency-aware tables also send each row's occurrences (`counts`), so they get calls of their own.
    type Call = { group: number; header: string[]; keys: string[]; grads: Buffer[]; inits: Buffer[]; flags: string[]; counts: number[] | undefined };
    const calls = new Map<string, Call>();
    const headers = this.specs.map((spec, t) => stepHeader(spec, this.lr[t]!));
    for (const { table, ids, grad, present, counts } of requests) {
      const spec = this.specs[table]!;
      const header = headers[table]!;
      const freq = this.countWords[table] === 1;
      const headerKey = `${header.join(' ')}${freq ? ' freq' : ''}`;
      const dim = spec.dim;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const g = id % this.groups;
        const callKey = `${g}|${headerKey}`;
        let c = calls.get(callKey);
        if (c === undefined) calls.set(callKey, (c = { group: g, header, keys: [], grads: [], inits: [], flags: [], counts: freq ? [] : undefined }));
        c.keys.push(this.key(table, id));
        c.grads.push(Buffer.from(grad.buffer, grad.byteOffset + 4 * i * dim, 4 * dim));
        c.counts?.push(counts === undefined ? 1 : counts[i]!);
        if (present !== undefined && present[i] === 1) {
          c.flags.push('0');
        } else {
          const init = new Float32Array(dim);
          writeInitialRow(this.seedKeys[table]!, id, spec.initStd, dim, init, 0);
          c.inits.push(Buffer.from(init.buffer));
          c.flags.push('1');
          this.stats.bytesOut += 4 * dim;
        }
        this.stats.bytesOut += 4 * dim;
        this.stats.rowsPushed++;
      }
    }
    const round = tag === undefined ? '' : String(tag.round);
    const packed = [...calls.values()].map((c) => ({
      keys: tag === undefined ? c.keys : [...c.keys, `{esmm:${this.run}:${c.group}}:m:${tag.worker}`],
      args: [...c.header, round, Buffer.concat(c.grads), Buffer.concat(c.inits), c.flags.join(''), ...(c.counts !== undefined ? [Buffer.from(Int32Array.from(c.counts).buffer)] : [])],
    }));
    const send = (c: { keys: string[]; args: (string | Buffer)[] }): Promise<number> =>
      this.cluster.call('FCALL', [STEP_FUNCTION, c.keys.length, ...c.keys, ...c.args]) as Promise<number>;
    // Without a tag a push is not idempotent, so it is not retried.
    const created = tag === undefined
      ? await Promise.all(packed.map(send))
      : await withRetry(this.cluster, 'push', () => Promise.all(packed.map(send)), this.log);
    this.stats.pushes++;
    for (const n of created) this.stats.rowsCreated += Math.max(0, Number(n));
  }

  /**
   * Writes rows as they are (weights + state records, no optimizer step): restoring a snapshot
   * into a store that lost the run. One MSET per hash-tag group.
   */
  async restoreRows(table: number, block: RowBlock): Promise<void> {
    const spec = this.specs[table]!;
    const sw = this.stateWords[table]!;
    const cw = this.countWords[table]!;
    const byGroup = new Map<number, (string | Buffer)[]>();
    for (let i = 0; i < block.ids.length; i++) {
      const id = block.ids[i]!;
      const g = id % this.groups;
      let list = byGroup.get(g);
      if (list === undefined) byGroup.set(g, (list = []));
      const v = Buffer.alloc(4 * (spec.dim + sw + cw));
      Buffer.from(block.weights.buffer, block.weights.byteOffset + 4 * i * spec.dim, 4 * spec.dim).copy(v, 0);
      if (sw > 0) Buffer.from(block.state.buffer, block.state.byteOffset + 4 * i * sw, 4 * sw).copy(v, 4 * spec.dim);
      // A block without counts (none was given) starts them at 0.
      if (cw > 0) v.writeInt32LE(block.counts?.[i] ?? 0, 4 * (spec.dim + sw));
      list.push(this.key(table, id), v);
    }
    const groups = [...byGroup.values()];
    await withRetry(this.cluster, 'restoring rows', () => Promise.all(groups.map((kv) => this.cluster.mset(...kv))), this.log);
  }

  setLearningRate(lr: number): void {
    this.lr.fill(lr);
  }

  /** Every stored row of `table`, every pending sum applied (SCAN over each master, then esmm_read per group). */
  async *scan(table: number): AsyncIterable<RowBlock> {
    const spec = this.specs[table]!;
    const sw = this.stateWords[table]!;
    const cw = this.countWords[table]!;
    const tablePart = `}:${table}:`;
    for (const node of this.cluster.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = (await node.scan(cursor, 'MATCH', `${this.prefix}*${tablePart}*`, 'COUNT', 2000)) as [string, string[]];
        cursor = next;
        const byGroup = new Map<string, string[]>();
        for (const k of keys) {
          const tag = k.slice(0, k.indexOf('}') + 1);
          let list = byGroup.get(tag);
          if (list === undefined) byGroup.set(tag, (list = []));
          list.push(k);
        }
        for (const list of byGroup.values()) {
          const values = await withRetry(this.cluster, 'scan', () => this.readRows(list, undefined), this.log);
          const block: RowBlock = { ids: new Int32Array(list.length), weights: new Float32Array(list.length * spec.dim), state: new Int32Array(list.length * sw) };
          const counts = cw > 0 ? new Int32Array(list.length) : undefined;
          const present = new Uint8Array(list.length);
          let n = 0;
          list.forEach((k, j) => {
            const v = values[j];
            if (v === null || v === undefined) return; // deleted between SCAN and MGET
            block.ids[n] = Number(k.slice(k.lastIndexOf(':') + 1));
            decodeRow(v, spec.dim, sw, cw, { weights: block.weights, state: block.state, present }, n, k, counts);
            n++;
          });
          yield {
            ids: block.ids.subarray(0, n), weights: block.weights.subarray(0, n * spec.dim), state: block.state.subarray(0, n * sw),
            ...(counts !== undefined ? { counts: counts.subarray(0, n) } : {}),
          };
        }
      } while (cursor !== '0');
    }
  }

  async close(): Promise<void> {
    await this.cluster.quit().catch(() => this.cluster.disconnect());
  }
}

/**
 * A stored row's bytes into weights/state at row i (copying: Buffer offsets need not be 4-aligned);
 * a frequency-aware record's last word (countWords 1) is its occurrence count, into counts[i] when given.
 */
function decodeRow(v: Buffer, dim: number, stateWords: number, countWords: number, dst: PulledRows, i: number, key: string, counts?: Int32Array): void {
  const words = dim + stateWords + countWords;
  if (v.length !== 4 * words) {
    throw new UserError(`Redis key ${key} holds ${v.length} bytes, expected ${4 * words} (a run with another dim, optimizer or L2 form under the same --run-id?)`);
  }
  const bytes = new Uint8Array(dst.weights.buffer, dst.weights.byteOffset + 4 * i * dim, 4 * dim);
  bytes.set(v.subarray(0, 4 * dim));
  if (stateWords > 0) new Uint8Array(dst.state.buffer, dst.state.byteOffset + 4 * i * stateWords, 4 * stateWords).set(v.subarray(4 * dim, 4 * (dim + stateWords)));
  if (countWords > 0 && counts !== undefined) counts[i] = v.readInt32LE(4 * (dim + stateWords));
  dst.present[i] = 1;
}
