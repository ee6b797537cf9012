import type { Schema } from '../../data/schema.js';

/** The funnel's stages after the impression, in order: click, each action column, buy. */
export function funnelStages(schema: Schema): string[] {
  return [schema.labels.click, ...(schema.labels.actions ?? []), schema.labels.buy];
}
