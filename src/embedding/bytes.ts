/**
 * Typed arrays <-> bytes for checkpoints. Bytes are little-endian (the host order on every
 * platform Node supports in practice; a big-endian host is refused rather than silently wrong).
 */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function checkEndianness(): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('esmm checkpoints need a little-endian host');
}

/** A byte view of a copy of `a` (the caller may keep mutating `a`). */
export function toBytes(a: Float32Array | Int32Array): Uint8Array {
  checkEndianness();
  const copy = a.slice();
  return new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
}

/** Copies the bytes into a fresh, aligned buffer and checks the element count. */
function alignedCopy(bytes: Uint8Array, elements: number, what: string): ArrayBuffer {
  checkEndianness();
  if (bytes.byteLength !== elements * 4) {
    throw new Error(`${what}: expected ${elements * 4} bytes, got ${bytes.byteLength}`);
  }
  const buf = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buf).set(bytes);
  return buf;
}

export function float32FromBytes(bytes: Uint8Array, elements: number, what: string): Float32Array {
  return new Float32Array(alignedCopy(bytes, elements, what));
}

export function int32FromBytes(bytes: Uint8Array, elements: number, what: string): Int32Array {
  return new Int32Array(alignedCopy(bytes, elements, what));
}
