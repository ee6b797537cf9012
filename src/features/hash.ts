/**
 * 32-bit FNV-1a over the UTF-8 bytes of a string (offset basis 2166136261, prime 16777619).
 * Stable across runs, platforms and languages: the same value hashes to the same bucket in
 * Python (`fnv1a_32(s.encode('utf-8'))`) or anywhere else, so hashed models stay portable.
 */
export function fnv1a32(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    let cp = value.charCodeAt(i);
    if (cp < 0x80) {
      h = Math.imul(h ^ cp, 0x01000193);
      continue;
    }
    // Encode the code point as UTF-8 bytes without allocating.
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < value.length) {
      const lo = value.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogate: hash as U+FFFD, like TextEncoder
    if (cp < 0x800) {
      h = Math.imul(h ^ (0xc0 | (cp >> 6)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (cp & 0x3f)), 0x01000193);
    } else if (cp < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (cp >> 12)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (cp & 0x3f)), 0x01000193);
    } else {
      h = Math.imul(h ^ (0xf0 | (cp >> 18)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((cp >> 12) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (cp & 0x3f)), 0x01000193);
    }
  }
  return h >>> 0;
}
