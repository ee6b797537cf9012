/**
 * Runs async tasks one at a time, in call order. Model sessions share preallocated input
 * buffers, and onnxruntime-node's run() yields before its native call, so two overlapping
 * predictions would otherwise overwrite each other's gathered embeddings.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
