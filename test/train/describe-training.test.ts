/**
 * The start-of-training lines (src/api/describe-training.ts): the compute line names workers and
 * threads, and suggests train.workers only where one worker leaves cores idle and workers can
 * train the model.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/api/load-config.js';
import { describeCompute } from '../../src/api/describe-training.js';

describe('describeCompute', () => {
  it('suggests --workers on a 16-core machine training on one worker', () => {
    expect(describeCompute(loadConfig('esmm'), 16)).toBe('compute: 1 worker, 16 onnxruntime threads; this machine has 16 cores: --workers 16 (train.workers) splits each batch over 16 threads, usually faster, the same model up to float rounding');
  });

  it('says nothing more on 2 cores, with workers set, with threads set, or for a model workers refuse', () => {
    expect(describeCompute(loadConfig('esmm'), 2)).toBe('compute: 1 worker, 2 onnxruntime threads');
    expect(describeCompute(loadConfig('esmm', { train: { workers: 4 } }), 16)).toBe('compute: 4 workers, 16 onnxruntime threads split between them');
    expect(describeCompute(loadConfig('esmm', { train: { threads: 1 } }), 16)).toBe('compute: 1 worker, 1 onnxruntime thread');
    expect(describeCompute(loadConfig('escm2_ipw'), 16)).toBe('compute: 1 worker, 16 onnxruntime threads');
    expect(describeCompute(loadConfig('esmm', { model: { loss_weighting: 'gradnorm' } }), 16)).toBe('compute: 1 worker, 16 onnxruntime threads');
  });
});
