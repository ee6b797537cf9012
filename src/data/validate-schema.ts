/**
 * Early checks on a schema, before any file is opened: label leakage, truth columns used as
 * features, columns listed twice. The config loader calls this as soon as it has a schema.
 */
import { UserError } from '../errors.js';
import { labelColumns, type Schema } from './schema.js';

/** Throws a UserError (with `key` naming the schema entry) when the schema is unusable. */
export function validateSchema(schema: Schema): void {
  const labels = labelColumns(schema);
  assertNoRepeats(labels, 'schema.labels', 'is listed as two different labels');

  // Every feature column with the schema key that lists it, to name it in the message.
  const features: { column: string; key: string }[] = [
    ...schema.categorical.map((c) => ({ column: c, key: 'schema.categorical' })),
    ...(schema.multi_valued ?? []).map((m) => ({ column: m.name, key: 'schema.multi_valued' })),
    ...(schema.numeric ?? []).map((c) => ({ column: c, key: 'schema.numeric' })),
  ];
  const seen = new Map<string, string>();
  for (const { column, key } of features) {
    const earlier = seen.get(column);
    if (earlier !== undefined) {
      throw new UserError(
        earlier === key ? `listed twice in ${key}` : `listed both in ${earlier} and in ${key}`,
        { column, key },
      );
    }
    seen.set(column, key);
  }

  // Label leakage: a label used as a feature makes the task trivial (AUC 1.0) and useless.
  for (const { column, key } of features) {
    if (labels.includes(column)) {
      throw new UserError(`label column used as a feature (label leakage); remove it from ${key}`, {
        column,
        key,
      });
    }
  }
  const truth = schema.truth ?? [];
  assertNoRepeats(truth, 'schema.truth', 'is listed twice');
  for (const column of truth) {
    const asFeature = seen.get(column);
    if (asFeature !== undefined) {
      throw new UserError(`truth column used as a feature; remove it from ${asFeature}`, {
        column,
        key: asFeature,
      });
    }
    if (labels.includes(column)) {
      throw new UserError('column is both a label and a truth column', { column, key: 'schema.truth' });
    }
  }
  if (schema.group !== undefined && labels.includes(schema.group)) {
    throw new UserError('label column used as the group column', {
      column: schema.group,
      key: 'schema.group',
    });
  }
  for (const m of schema.multi_valued ?? []) {
    if (m.separator === '') {
      throw new UserError('multi-valued field needs a non-empty separator', {
        column: m.name,
        key: 'schema.multi_valued',
      });
    }
    if (m.weight_separator !== undefined && (m.weight_separator === '' || m.weight_separator === m.separator)) {
      throw new UserError('weight_separator must be non-empty and differ from separator', {
        column: m.name,
        key: 'schema.multi_valued',
      });
    }
  }
}

function assertNoRepeats(columns: string[], key: string, what: string): void {
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column)) throw new UserError(what, { column, key });
    seen.add(column);
  }
}
