/**
 * Seeded pseudo-random numbers for the simulator: xoshiro128** (Blackman & Vigna) seeded through
 * splitmix32, plus Box-Muller normals. Never Math.random: the simulator must be reproducible.
 */

/** splitmix32 step: spreads a (possibly small or sequential) seed over 32 bits. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Second normal of the last Box-Muller pair, or NaN when none is cached. */
  private spareNormal = Number.NaN;

  /**
   * @param seed any integer
   * @param stream independent stream number: the simulator draws its world, calibration sample
   *   and impressions from different streams so that changing one part leaves the others alone.
   */
  constructor(seed: number, stream = 0) {
    const st = { s: (seed ^ Math.imul(stream + 1, 0x632be5ab)) | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the all-zero state is absorbing
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** 1 with probability p, else 0. */
  bernoulli(p: number): number {
    return this.uniform() < p ? 1 : 0;
  }

  /** Standard normal via Box-Muller (both outputs used). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const z = this.spareNormal;
      this.spareNormal = Number.NaN;
      return z;
    }
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Index i with cumulative[i-1] <= u < cumulative[i], for u in [0, cumulative[last]). */
export function searchCumulative(cumulative: Float64Array, u: number, lo = 0, hi = cumulative.length): number {
  // Binary search over [lo, hi): the first index whose cumulative weight exceeds u.
  let l = lo;
  let h = hi - 1;
  while (l < h) {
    const mid = (l + h) >>> 1;
    if (cumulative[mid]! > u) h = mid;
    else l = mid + 1;
  }
  return l;
}
