/** Checks row indices before a gather (takeRows, takeEncodedRows): each must lie in 0..rows-1. */
export function checkRowIndices(what: string, indices: ArrayLike<number>, rows: number): void {
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!(r >= 0 && r < rows)) throw new RangeError(`${what}: index ${r} outside 0..${rows - 1}`);
  }
}
