/**
 * The simulator's optional chain of stages (impression -> click -> s_2 -> ... -> s_N), for
 * N-stage models such as AITM. The click is drawn as in the classic funnel; every later stage k
 * is reached from stage k-1 with p_k = sigmoid(b_k + sConv), so the stages share the conversion
 * signal and get rarer along the chain. Intercepts b_k are calibrated so that p(stage k | stage
 * k-1) averages stageRates[k-1] over the rows that reach stage k-1.
 */
import { calibrationSample, solveWeightedIntercept } from './calibrate.js';
import type { SynthConfig } from './config.js';
import { sigmoid } from './true-funnel.js';
import { Rng } from './prng.js';
import type { SynthWorld } from './world.js';

/** Intercepts b_2..b_N of the stages after the click. */
export function calibrateChain(world: SynthWorld, cfg: SynthConfig, clickIntercept: number): number[] {
  const n = cfg.calibrationRows;
  const { click, conv } = calibrationSample(world, cfg, 4);
  const reach = Float64Array.from(click, (s) => sigmoid(clickIntercept + s)); // p(reaching the previous stage)
  return cfg.stageRates.map((target) => {
    const b = solveWeightedIntercept(conv, reach, target);
    for (let i = 0; i < n; i++) reach[i] = reach[i]! * sigmoid(b + conv[i]!);
    return b;
  });
}

/** Per-row chain columns: observed label per stage after the click and p(stage k | stage k-1). */
export interface ChainColumns {
  labels: Uint8Array[];
  truth: Float64Array[];
}

export function allocateChain(stagesAfterClick: number, rows: number): ChainColumns {
  return {
    labels: Array.from({ length: stagesAfterClick }, () => new Uint8Array(rows)),
    truth: Array.from({ length: stagesAfterClick }, () => new Float64Array(rows)),
  };
}

/**
 * Draw one row's stages after the click (potential outcomes: drawn for every impression, observed
 * only where the previous stage happened). Returns [p(last | click), potential last stage,
 * potential second stage].
 */
export function drawChainRow(cols: ChainColumns, intercepts: number[], conv: number, click: number, rng: Rng, i: number): [number, number, number] {
  let potential = 1;
  let first = 1;
  let pAll = 1;
  intercepts.forEach((b, k) => {
    const p = sigmoid(b + conv);
    potential &= rng.bernoulli(p); // one uniform per stage whatever happened before
    pAll *= p;
    cols.labels[k]![i] = click & potential;
    cols.truth[k]![i] = p;
    if (k === 0) first = potential;
  });
  return [pAll, potential, first];
}
