/**
 * Test worker of shard-contention.test.ts: attaches to a shared embedding table and, for each
 * message, runs one sparse update of the whole batch as a shard worker's apply phase does.
 * `owner` -1 (updating every row, no ownership) is the broken scheme the test must catch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SharedEmbeddingTable, type SharedTableHandle } from '../../../src/embedding/shared/shared-table.js';

const { handle, owner } = workerData as { handle: SharedTableHandle; owner: number };
const table = SharedEmbeddingTable.attach(handle, owner);
parentPort!.on('message', (m: { ids: Int32Array; grad: Float32Array; dim: number }) => {
  try {
    table.update(m.ids, m.grad, m.dim, 0);
    Atomics.add(new Int32Array(handle.allocated), 0, 0); // a fence before the reply (as the step's hand-over)
    parentPort!.postMessage('done');
  } catch (e) {
    parentPort!.postMessage(String(e));
  }
});
