/**
 * Multi-valued cells ("a|b|c", or "a:0.5|b:2" with a weight separator) to CSR ids through a
 * field's encoder. Empty items are ignored; an item without a weight has weight 1.
 */
import { UserError } from '../errors.js';
import type { MultiIds } from '../data/batch.js';
import type { MultiValuedField } from '../data/schema.js';
import { OOV_ID, type CategoricalEncoder } from './categorical-encoder.js';

/** Calls `visit(id, weight)` for each item of a cell; weight is 1 without a weight separator. */
export function forEachItem(
  cell: string,
  field: MultiValuedField,
  visit: (value: string, weight: number) => void,
  where: () => { file: string; row: number },
): void {
  if (cell === '') return;
  const items = cell.split(field.separator);
  const ws = field.weight_separator;
  for (const item of items) {
    if (item === '') continue;
    if (ws === undefined) {
      visit(item, 1);
      continue;
    }
    const at = item.lastIndexOf(ws);
    if (at < 0) {
      visit(item, 1);
      continue;
    }
    const weightText = item.slice(at + ws.length);
    const weight = weightText.trim() === '' ? NaN : Number(weightText);
    if (!Number.isFinite(weight)) {
      throw new UserError(`bad weight '${weightText}' in item '${item}' (expected id${ws}number)`, { ...where(), column: field.name });
    }
    visit(item.slice(0, at), weight);
  }
}

/** Encodes a column of cells; returns the ids and the number of unseen (OOV) items. */
export function encodeMultiColumn(
  cells: string[],
  field: MultiValuedField,
  encoder: CategoricalEncoder,
  file: string,
  firstRow: number,
): { ids: MultiIds; unseen: number } {
  const offsets = new Int32Array(cells.length + 1);
  let ids = new Int32Array(Math.max(16, cells.length * 2));
  const weighted = field.weight_separator !== undefined;
  let weights = weighted ? new Float32Array(ids.length) : undefined;
  let n = 0;
  let unseen = 0;
  const sep = field.separator;
  for (let r = 0; r < cells.length; r++) {
    const cell = cells[r]!;
    if (!weighted && sep.length > 0) {
      // The common case without closures or split arrays (the same items as forEachItem: empty ones skipped).
      let from = 0;
      while (cell !== '') {
        const at = cell.indexOf(sep, from);
        const end = at < 0 ? cell.length : at;
        if (end > from) {
          if (n === ids.length) ids = grow(ids, new Int32Array(ids.length * 2));
          const value = cell.slice(from, end);
          const id = encoder.encode(value);
          if (id === OOV_ID && encoder.isUnseen(value)) unseen++;
          ids[n++] = id;
        }
        if (at < 0) break;
        from = at + sep.length;
      }
      offsets[r + 1] = n;
      continue;
    }
    forEachItem(
      cell,
      field,
      (value, weight) => {
        if (n === ids.length) {
          ids = grow(ids, new Int32Array(ids.length * 2));
          if (weights !== undefined) weights = grow(weights, new Float32Array(ids.length));
        }
        const id = encoder.encode(value);
        if (id === OOV_ID && encoder.isUnseen(value)) unseen++;
        ids[n] = id;
        if (weights !== undefined) weights[n] = weight;
        n++;
      },
      () => ({ file, row: firstRow + r }),
    );
    offsets[r + 1] = n;
  }
  const out: MultiIds = { ids: ids.slice(0, n), offsets };
  if (weights !== undefined) out.weights = weights.slice(0, n);
  return { ids: out, unseen };
}

function grow<T extends Int32Array | Float32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
