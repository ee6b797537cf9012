/** Progress of a training run, reported about once a second and at each epoch end. */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  samplesPerSecond: number;
  /** Running mean of each loss over the epoch so far, plus `loss` (the weighted total). */
  losses: Record<string, number>;
}

/** Formats a one-line progress bar for a terminal. */
export function formatProgress(p: TrainProgress): string {
  const frac = p.stepsPerEpoch === 0 ? 1 : p.step / p.stepsPerEpoch;
  const width = 24;
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  const losses = Object.entries(p.losses).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ');
  return `epoch ${p.epoch}/${p.epochs} [${bar}] ${p.step}/${p.stepsPerEpoch}  ${Math.round(p.samplesPerSecond)} samples/s  ${losses}`;
}
