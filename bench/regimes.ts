/**
 * The simulator regimes the quality benchmarks share (options on top of the simulator's defaults);
 * bench/quality.ts describes what each one tests.
 */
export const REGIMES: Record<string, Record<string, unknown>> = {
  anticorr: { attractQualityCorr: -0.7 },
  sparse: { ctr: 0.02, cvr: 0.03, subspaceDim: 10, attractQualityCorr: 0, effects: { quality: 0.3, convAffinity: 1.5 } },
  aligned: { attractQualityCorr: 0.5 },
  confounded: { attractQualityCorr: -0.7, effects: { hiddenIntent: 1 } },
};
