/**
 * Dense int32 ids for group values (e.g. user ids, for GAUC). Groups belong to a dataset, not to
 * the model: use one interner per dataset and pass it to every FeatureSpec.transform call on
 * that dataset's chunks, so a user has the same id in every chunk.
 */
export class GroupInterner {
  private readonly ids = new Map<string, number>();

  /** Number of distinct groups seen so far (ids are 0..size-1, in order of first appearance). */
  get size(): number {
    return this.ids.size;
  }

  intern(values: string[]): Int32Array {
    const out = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      let id = this.ids.get(v);
      if (id === undefined) {
        id = this.ids.size;
        this.ids.set(v, id);
      }
      out[i] = id;
    }
    return out;
  }
}
