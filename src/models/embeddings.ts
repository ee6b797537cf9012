import { EmbeddingTable } from '../embedding/table.js';
import type { EmbeddingStore } from '../embedding/embedding-store.js';
import type { SparseOptimizerConfig } from '../embedding/sparse-optimizer.js';
import type { FieldPooling } from '../config/types.js';
import type { MultiIds } from '../data/batch.js';
import type { Batch } from '../data/batch-assembler.js';
import type { FeatureLayout } from './layout.js';

/** How one multi-valued field is pooled: in the gather (sum, mean) or in the graph (attention). */
export type FieldPoolingMode = 'sum' | 'mean' | 'attention';

/**
 * The embedding tables of a model: one table per field per embedding group. Towers in the same
 * group share tables (ESMM's shared embeddings); models with one group per tower (ESMM-NS, the
 * baselines) do not. Fills a group's gathered-embedding input [batch, fields*dim] and applies the
 * sparse update from that input's gradient.
 *
 * Multi-valued fields are pooled by `pooling` (model.multi_valued_pooling) unless `fieldPooling`
 * (model.pooling) names another mode for the field. An attention-pooled field's slot in the
 * gathered input is zeros and skipped on update: its per-item embeddings travel separately
 * (gatherSequence / updateSequence), and the graph pools them against the candidate item.
 */
export class EmbeddingSet {
  readonly tables = new Map<string, EmbeddingStore[]>();
  /** Pooling mode per multi-valued field (layout.multiValued order). */
  readonly multiModes: FieldPoolingMode[];
  /** Scratch of updateSequence: the non-padded ids and their gradient rows, grown on demand. */
  private seqIds = new Int32Array(0);
  private seqGrad = new Float32Array(0);

  constructor(
    readonly layout: FeatureLayout,
    readonly pooling: 'sum' | 'mean',
    tables: Map<string, EmbeddingStore[]>,
    fieldPooling: Record<string, FieldPooling> = {},
  ) {
    this.tables = tables;
    this.multiModes = layout.multiValued.map((f) => fieldPooling[f.name]?.type ?? pooling);
  }

  static create(
    layout: FeatureLayout,
    groups: string[],
    optimizer: SparseOptimizerConfig,
    seed: number,
    pooling: 'sum' | 'mean',
    fieldPooling: Record<string, FieldPooling> = {},
    /** L2 on touched rows (train.embedding_l2), optionally frequency-aware (train.embedding_l2_frequency). */
    l2: { l2: number; frequency: boolean } = { l2: 0, frequency: false },
  ): EmbeddingSet {
    const tables = new Map<string, EmbeddingTable[]>();
    groups.forEach((group, gi) => {
      const fields = [...layout.categorical, ...layout.multiValued];
      tables.set(
        group,
        fields.map((f, fi) => new EmbeddingTable({ name: `${group}/${f.name}`, rows: f.size, dim: layout.dim, optimizer, seed: seed * 1000003 + gi * 1009 + fi, l2: l2.l2, l2Frequency: l2.frequency })),
      );
    });
    return new EmbeddingSet(layout, pooling, tables, fieldPooling);
  }

  /** Pooling mode of a multi-valued field. */
  modeOf(field: string): FieldPoolingMode {
    return this.multiModes[this.multiIndex(field)]!;
  }

  /**
   * A group's tables and the layout of its gathered input (and so of its gradient): rows of
   * `width` floats, categorical field f at column f * dim, then multi-valued field m at (nCat + m) * dim.
   */
  private group(group: string): { tables: EmbeddingStore[]; dim: number; width: number; nCat: number } {
    const tables = this.tables.get(group);
    if (tables === undefined) throw new Error(`no embedding group '${group}'`);
    const dim = this.layout.dim;
    return { tables, dim, width: tables.length * dim, nCat: this.layout.categorical.length };
  }

  /** Fill out[0 .. batch.size*width) with the batch's embeddings of one group (attention slots: zeros). */
  gather(group: string, batch: Batch, out: Float32Array): void {
    const { tables, dim, width, nCat } = this.group(group);
    for (let f = 0; f < nCat; f++) tables[f]!.gather(batch.categorical[f]!.subarray(0, batch.size), out, width, f * dim);
    for (let m = 0; m < this.layout.multiValued.length; m++) {
      const mode = this.multiModes[m]!;
      const offset = (nCat + m) * dim;
      if (mode === 'attention') {
        for (let i = 0; i < batch.size; i++) out.fill(0, i * width + offset, i * width + offset + dim);
      } else {
        tables[nCat + m]!.gatherPooled(batch.multiValued[m]!, mode, out, width, offset);
      }
    }
  }

  /** Sparse update of the rows the batch touched, from the gradient of the gathered input (attention fields skipped). */
  update(group: string, batch: Batch, grad: Float32Array): void {
    const { tables, dim, width, nCat } = this.group(group);
    for (let f = 0; f < nCat; f++) tables[f]!.update(batch.categorical[f]!.subarray(0, batch.size), grad, width, f * dim);
    for (let m = 0; m < this.layout.multiValued.length; m++) {
      const mode = this.multiModes[m]!;
      if (mode === 'attention') continue;
      tables[nCat + m]!.updatePooled(batch.multiValued[m]!, mode, grad, width, (nCat + m) * dim);
    }
  }

  private multiIndex(field: string): number {
    const m = this.layout.multiValued.findIndex((f) => f.name === field);
    if (m < 0) throw new Error(`'${field}' is not a multi-valued field of the layout`);
    return m;
  }

  /**
   * Per-item embeddings of a multi-valued field for attention pooling: out [batch, maxLen, dim]
   * and mask [batch, maxLen]. Row i keeps its LAST min(count, maxLen) items (the most recent,
   * assuming the list is oldest first), in their order, from position 0; the rest is zero
   * padding with mask 0. The mask of a kept item is its weight (1 without weights).
   */
  gatherSequence(group: string, field: string, batch: Batch, maxLen: number, out: Float32Array, mask?: Float32Array): void {
    const m = this.multiIndex(field);
    const table = this.group(group).tables[this.layout.categorical.length + m]!;
    const ids = batch.multiValued[m]!;
    const dim = this.layout.dim;
    const rowWidth = maxLen * dim;
    for (let i = 0; i < batch.size; i++) {
      const [start, end] = kept(ids, i, maxLen);
      const o = i * rowWidth;
      out.fill(0, o + (end - start) * dim, o + rowWidth);
      if (end > start) table.gather(ids.ids.subarray(start, end), out, dim, o);
      if (mask !== undefined) {
        const mo = i * maxLen;
        for (let j = start; j < end; j++) mask[mo + j - start] = ids.weights === undefined ? 1 : ids.weights[j]!;
        mask.fill(0, mo + end - start, mo + maxLen);
      }
    }
  }

  /**
   * Sparse update from the gradient of gatherSequence's output ([batch, maxLen, dim]): padded
   * positions are skipped, gradients of duplicate ids summed, one optimizer step per touched row.
   */
  updateSequence(group: string, field: string, batch: Batch, maxLen: number, grad: Float32Array): void {
    const m = this.multiIndex(field);
    const table = this.group(group).tables[this.layout.categorical.length + m]!;
    const ids = batch.multiValued[m]!;
    const dim = this.layout.dim;
    let total = 0;
    for (let i = 0; i < batch.size; i++) {
      const [start, end] = kept(ids, i, maxLen);
      total += end - start;
    }
    if (this.seqIds.length < total) {
      this.seqIds = new Int32Array(total * 2);
      this.seqGrad = new Float32Array(total * 2 * dim);
    }
    let k = 0;
    for (let i = 0; i < batch.size; i++) {
      const [start, end] = kept(ids, i, maxLen);
      const count = end - start;
      this.seqIds.set(ids.ids.subarray(start, end), k);
      const g = i * maxLen * dim;
      this.seqGrad.set(grad.subarray(g, g + count * dim), k * dim);
      k += count;
    }
    table.update(this.seqIds.subarray(0, total), this.seqGrad, dim, 0);
  }

  setLearningRate(lr: number): void {
    for (const ts of this.tables.values()) for (const t of ts) t.setLearningRate(lr);
  }

  byteSize(): number {
    let n = 0;
    for (const ts of this.tables.values()) for (const t of ts) n += t.byteSize();
    return n;
  }
}

/** The ids of row i that a sequence of maxLen keeps: the last maxLen. */
function kept(m: MultiIds, i: number, maxLen: number): [number, number] {
  const end = m.offsets[i + 1]!;
  return [Math.max(m.offsets[i]!, end - maxLen), end];
}
