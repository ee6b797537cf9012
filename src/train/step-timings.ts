/** Cumulative wall time (ms) of a TrainStep's phases since the last reset, for profiling. */
export interface StepTimings {
  steps: number;
  /** Embedding gather into the graph inputs (+ feed setup). */
  gather: number;
  /** The ORT run: forward, backward and, with in-graph Adam, the dense update. */
  ort: number;
  /** Dense update outside ORT: the JS optimizer, or copying the in-graph update into the params. */
  dense: number;
  /** Sparse update of the touched embedding rows. */
  sparse: number;
  /**
   * Data-parallel step only (0 otherwise): the main thread's wall time in the compute and apply
   * phases beyond the workers' mean gather, ORT, sparse and dense times: posting and waking the
   * workers, copying their outputs into shared memory, and waiting for the slowest one.
   */
  handoff: number;
}

export function emptyTimings(): StepTimings {
  return { steps: 0, gather: 0, ort: 0, dense: 0, sparse: 0, handoff: 0 };
}
