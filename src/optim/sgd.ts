/**
 * One SGD step (PyTorch's formulas, no dampening, no Nesterov):
 *   g += wd * p;  with momentum: buf = momentum * buf + g (buf starts at 0, so the first buf is g);
 *   p -= lr * (momentum ? buf : g)
 * `lrScales[k]` (default 1) multiplies parameter k's lr.
 */
export interface SgdHyper {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export function sgdStep(params: Float32Array[], grads: Float32Array[], momentumBuffers: Float32Array[], h: SgdHyper, lrScales?: readonly number[]): void {
  const { momentum, weightDecay } = h;
  for (let k = 0; k < params.length; k++) {
    const lr = h.lr * (lrScales?.[k] ?? 1);
    const p = params[k];
    const gk = grads[k];
    if (momentum > 0) {
      const buf = momentumBuffers[k];
      for (let i = 0; i < p.length; i++) {
        const b = momentum * buf[i] + gk[i] + weightDecay * p[i];
        buf[i] = b;
        p[i] -= lr * b;
      }
    } else {
      for (let i = 0; i < p.length; i++) p[i] -= lr * (gk[i] + weightDecay * p[i]);
    }
  }
}
