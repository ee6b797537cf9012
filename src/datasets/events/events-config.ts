/**
 * The esmm.yaml that `esmm convert events` writes next to its splits, so that the next command is
 * `esmm train --config DIR/esmm.yaml --out MODEL`. Paths are relative to the config's folder.
 */
import YAML from 'yaml';
import type { EventsSummary } from './convert-events.js';
import type { FunnelColumns } from './events-sql.js';

export function eventsConfigYaml(summary: EventsSummary, columns: FunnelColumns): string {
  const data: Record<string, unknown> = { train: 'train.parquet', valid: 'valid.parquet', test: 'test.parquet' };
  if (summary.skip_invalid_in_config) data.skip_invalid = true;
  const labels: Record<string, unknown> = { click: summary.labels.click, buy: summary.labels.buy };
  if (summary.labels.actions.length > 0) labels.actions = summary.labels.actions;
  const schema: Record<string, unknown> = { labels, categorical: columns.categorical };
  if (columns.numeric.length > 0) schema.numeric = columns.numeric;
  schema.group = columns.user;
  const config = {
    data,
    schema,
    model: { name: summary.model },
    train: { epochs: 1, batch_size: 2048, learning_rate: 0.001, seed: 1 },
  };
  const stages = Object.entries(summary.stage_events)
    .map(([label, events]) => `${label} = ${events.join('|')}`)
    .join(', ');
  const header = [
    `# Written by esmm convert events${summary.preset !== null ? ` --preset ${summary.preset}` : ''} from ${summary.input}`,
    `# Rows: one per ${summary.unit}; entry stage: ${summary.entry}.`,
    `# Labels: ${stages}. Out-of-order funnels: ${summary.out_of_order.policy}.`,
    ...(summary.skip_invalid_in_config ? ['# data.skip_invalid: rows kept with a later stage but no click are counted and skipped by training.'] : []),
    '# Next: esmm train --config THIS_FILE --out MODEL_DIR',
  ];
  return `${header.join('\n')}\n${YAML.stringify(config)}`;
}
