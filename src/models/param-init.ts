import type { Rng } from '../util/random.js';

/**
 * Glorot/Xavier uniform init for a [fanIn, fanOut] weight (suits sigmoid/tanh towers and works
 * with ReLU at these depths); biases start at zero.
 */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const w = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < w.length; i++) w[i] = (rng.next() * 2 - 1) * limit;
  return w;
}

export function zeros(n: number): Float32Array {
  return new Float32Array(n);
}
