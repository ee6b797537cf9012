import { EmbeddingTable } from '../embedding/table.js';
import type { SparseOptimizerConfig } from '../embedding/sparse-optimizer.js';
import type { Batch } from '../train/batch.js';
import type { FeatureLayout } from './layout.js';

/**
 * The embedding tables of a model: one table per field per embedding group. Towers in the same
 * group share tables (ESMM's shared embeddings); models with one group per tower (ESMM-NS, the
 * baselines) do not. Fills a group's gathered-embedding input [batch, fields*dim] and applies the
 * sparse update from that input's gradient.
 */
export class EmbeddingSet {
  readonly tables = new Map<string, EmbeddingTable[]>();

  constructor(
    readonly layout: FeatureLayout,
    readonly pooling: 'sum' | 'mean',
    tables: Map<string, EmbeddingTable[]>,
  ) {
    this.tables = tables;
  }

  static create(layout: FeatureLayout, groups: string[], optimizer: SparseOptimizerConfig, seed: number, pooling: 'sum' | 'mean'): EmbeddingSet {
    const tables = new Map<string, EmbeddingTable[]>();
    groups.forEach((group, gi) => {
      const fields = [...layout.categorical, ...layout.multiValued];
      tables.set(
        group,
        fields.map((f, fi) => new EmbeddingTable({ name: `${group}/${f.name}`, rows: f.size, dim: layout.dim, optimizer, seed: seed * 1000003 + gi * 1009 + fi })),
      );
    });
    return new EmbeddingSet(layout, pooling, tables);
  }

  private group(group: string): EmbeddingTable[] {
    const t = this.tables.get(group);
    if (t === undefined) throw new Error(`no embedding group '${group}'`);
    return t;
  }

  /** Fill out[0 .. batch.size*width) with the batch's embeddings of one group. */
  gather(group: string, batch: Batch, out: Float32Array): void {
    const tables = this.group(group);
    const dim = this.layout.dim;
    const width = tables.length * dim;
    const nCat = this.layout.categorical.length;
    for (let f = 0; f < nCat; f++) tables[f]!.gather(batch.categorical[f]!.subarray(0, batch.size), out, width, f * dim);
    for (let m = 0; m < this.layout.multiValued.length; m++) {
      tables[nCat + m]!.gatherPooled(batch.multiValued[m]!, this.pooling, out, width, (nCat + m) * dim);
    }
  }

  /** Sparse update of the rows the batch touched, from the gradient of the gathered input. */
  update(group: string, batch: Batch, grad: Float32Array): void {
    const tables = this.group(group);
    const dim = this.layout.dim;
    const width = tables.length * dim;
    const nCat = this.layout.categorical.length;
    for (let f = 0; f < nCat; f++) tables[f]!.update(batch.categorical[f]!.subarray(0, batch.size), grad, width, f * dim);
    for (let m = 0; m < this.layout.multiValued.length; m++) {
      tables[nCat + m]!.updatePooled(batch.multiValued[m]!, this.pooling, grad, width, (nCat + m) * dim);
    }
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
