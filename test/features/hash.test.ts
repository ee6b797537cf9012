import { describe, expect, it } from 'vitest';
import { fnv1a32 } from '../../src/features/hash.js';

/** Reference FNV-1a over TextEncoder's UTF-8 bytes. */
function reference(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

describe('fnv1a32', () => {
  it('matches published FNV-1a 32-bit test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes of non-ASCII text (2-, 3- and 4-byte sequences, lone surrogates)', () => {
    for (const s of ['é', 'naïve', '北京', '😀x', 'a\ud800b', '\udc00']) expect(fnv1a32(s)).toBe(reference(s));
  });
});
