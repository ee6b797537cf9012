/**
 * Build-time shape arithmetic for the graph builder. Dims are numbers or symbolic names
 * ('batch'); symbolic dims propagate. Two dims are the same only when both are the same number or
 * the same name. Broadcasting a symbolic dim against a number other than 1 is refused: it would
 * make the gradient's un-broadcast axes unknowable at build time.
 */
/** A build-time dimension: a number, or a symbolic name such as 'batch'. */
export type Dim = number | string;

export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.map((d) => (typeof d === 'string' ? `'${d}'` : String(d))).join(', ')}]`;
}

export function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** numpy broadcasting of any number of shapes; throws naming every shape on a mismatch. */
export function broadcastShapes(op: string, shapes: readonly (readonly Dim[])[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const k = i - (rank - s.length);
      if (k < 0) continue;
      const d = s[k]!;
      if (d === 1 || d === dim) continue;
      if (dim === 1) {
        dim = d;
        continue;
      }
      throw new Error(
        `${op}: shapes ${shapes.map(formatShape).join(' and ')} do not broadcast (dim ${String(dim)} vs ${String(d)})`,
      );
    }
    out.push(dim);
  }
  return out;
}

/**
 * Axes of `outShape` that were broadcast from `inShape` (leading axes absent from the input plus
 * axes where the input has 1 and the output does not). Summing the output gradient over them
 * gives the input's gradient.
 */
export function broadcastAxes(inShape: readonly Dim[], outShape: readonly Dim[]): { leading: number[]; ones: number[] } {
  const lead = outShape.length - inShape.length;
  const leading: number[] = [];
  const ones: number[] = [];
  for (let i = 0; i < lead; i++) leading.push(i);
  for (let i = 0; i < inShape.length; i++) {
    if (inShape[i] === 1 && outShape[i + lead] !== 1) ones.push(i + lead);
  }
  return { leading, ones };
}

/** Normalises possibly negative axes against a rank, checking range and duplicates. */
export function normaliseAxes(op: string, axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank) {
      throw new Error(`${op}: axis ${a} out of range for rank ${rank}`);
    }
    return a < 0 ? a + rank : a;
  });
  if (new Set(out).size !== out.length) throw new Error(`${op}: duplicate axes ${JSON.stringify(axes)}`);
  return out;
}

export function normaliseAxis(op: string, axis: number, rank: number): number {
  return normaliseAxes(op, [axis], rank)[0]!;
}

/** Product of the numeric dims, or undefined when any dim is symbolic. */
export function numericSize(shape: readonly Dim[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

export function reducedShape(shape: readonly Dim[], axes: readonly number[], keepdims: boolean): Dim[] {
  const set = new Set(axes);
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** Shape after inserting size-1 axes at `axes` (positions in the output, already normalised). */
export function unsqueezedShape(shape: readonly Dim[], axes: readonly number[]): Dim[] {
  const rank = shape.length + axes.length;
  const set = new Set(axes);
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : shape[k++]!);
  return out;
}
