/**
 * Global-norm gradient clipping (as torch.nn.utils.clip_grad_norm_): when the L2 norm over all
 * gradients exceeds maxNorm, every gradient is scaled IN PLACE by maxNorm / (norm + 1e-6).
 * Returns the norm before clipping. A non-finite norm leaves the gradients unchanged (the caller
 * sees it in the return value and can skip the step).
 */
export function clipGradNorm(grads: Float32Array[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  let sumSquares = 0;
  for (const g of grads) {
    for (let i = 0; i < g.length; i++) sumSquares += g[i] * g[i];
  }
  const norm = Math.sqrt(sumSquares);
  if (Number.isFinite(norm) && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (const g of grads) {
      for (let i = 0; i < g.length; i++) g[i] *= scale;
    }
  }
  return norm;
}
