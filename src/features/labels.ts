/**
 * Label columns of a RawChunk to the float 0/1 vectors the graph takes. `action` is ESM2's
 * DAction: 1 when any configured post-click action column is 1.
 */
import type { EncodedLabels, RawChunk } from '../data/batch.js';
import type { LabelsSchema } from '../data/schema.js';

export function encodeLabels(chunk: RawChunk, labels: LabelsSchema): EncodedLabels {
  const n = chunk.rows;
  const toFloat = (name: string): Float32Array => {
    const out = new Float32Array(n);
    const src = chunk.labels.get(name);
    if (src !== undefined) for (let i = 0; i < n; i++) out[i] = src[i]!; // absent: zeros
    return out;
  };
  const actionNames = labels.actions ?? [];
  const actions = new Map(actionNames.map((name) => [name, toFloat(name)]));
  const out: EncodedLabels = { click: toFloat(labels.click), buy: toFloat(labels.buy), actions };
  if (actionNames.length > 0) {
    const any = new Float32Array(n);
    for (const a of actions.values()) for (let i = 0; i < n; i++) if (a[i] === 1) any[i] = 1;
    out.action = any;
  }
  return out;
}
