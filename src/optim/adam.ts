/**
 * One Adam / AdamW step over a list of parameter arrays (PyTorch's formulas):
 *   adam:  g += wd * p                       (L2 in the gradient)
 *   adamw: p *= 1 - lr * wd                  (decoupled weight decay)
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * `lrScales[k]` (default 1) multiplies parameter k's lr (a tower's model.towers.NAME.lr_scale).
 */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
}

export function adamStep(
  params: Float32Array[],
  grads: Float32Array[],
  m: Float32Array[],
  v: Float32Array[],
  step: number,
  h: AdamHyper,
  lrScales?: readonly number[],
): void {
  const { lr: baseLr, beta1, beta2, eps, weightDecay, decoupled } = h;
  const invSqrtBc2 = 1 / Math.sqrt(1 - Math.pow(beta2, step));
  const l2 = decoupled ? 0 : weightDecay;
  for (let k = 0; k < params.length; k++) {
    const lr = baseLr * (lrScales?.[k] ?? 1);
    const stepSize = lr / (1 - Math.pow(beta1, step));
    const decay = decoupled ? 1 - lr * weightDecay : 1;
    const p = params[k];
    const gk = grads[k];
    const mk = m[k];
    const vk = v[k];
    for (let i = 0; i < p.length; i++) {
      const w = p[i] * decay;
      const g = gk[i] + l2 * p[i];
      const mi = beta1 * mk[i] + (1 - beta1) * g;
      const vi = beta2 * vk[i] + (1 - beta2) * g * g;
      mk[i] = mi;
      vk[i] = vi;
      p[i] = w - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
    }
  }
}
