/** Worker of bench/shard-update.ts: owner `rank` of every table; message i = update with batch i. */
import { parentPort, workerData } from 'node:worker_threads';
import { SharedEmbeddingTable, type SharedTableHandle } from '../src/embedding/shared/shared-table.js';

const { handles, rank, ids, grads, dim } = workerData as { handles: SharedTableHandle[]; rank: number; ids: Int32Array[][]; grads: Float32Array[][]; dim: number };
const tables = handles.map((h) => SharedEmbeddingTable.attach(h, rank));
parentPort!.on('message', (i: number) => {
  tables.forEach((t, f) => t.update(ids[i]![f]!, grads[i]![f]!, dim, 0));
  Atomics.add(new Int32Array(handles[0]!.allocated), 0, 0);
  parentPort!.postMessage(i);
});
