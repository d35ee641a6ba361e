/**
 * The 32-bit Mersenne Twister as PyTorch's CPU generator runs it (at::mt19937): seeded from the
 * low 32 bits of the seed with the reference initialization, and with PyTorch's bookkeeping
 * (`left`, `next`) so that a saved state resumes at exactly the same word.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;

export interface Mt19937State {
  /** the 624 words of the twister */
  state: number[];
  /** words left before the next twist (1 right after seeding: the first draw twists) */
  left: number;
  /** index of the next word to temper */
  next: number;
}

export class Mt19937 {
  private readonly mt = new Uint32Array(N);
  private left = 1;
  private next = 0;

  constructor(seed32 = 5489) {
    this.seed(seed32);
  }

  /** Reference mt19937 initialization from a 32-bit seed. */
  seed(seed32: number): void {
    const mt = this.mt;
    mt[0] = seed32 >>> 0;
    for (let j = 1; j < N; j++) {
      const prev = mt[j - 1] ^ (mt[j - 1] >>> 30);
      mt[j] = (Math.imul(1812433253, prev) + j) >>> 0;
    }
    this.left = 1;
    this.next = 0;
  }

  /** One tempered 32-bit word, as an unsigned integer. */
  nextUint32(): number {
    if (--this.left === 0) this.twist();
    let y = this.mt[this.next++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * Moves on n words as n calls of nextUint32 would, without tempering them: whole twists for
   * the words in between (a model's initialization is hundreds of millions of words).
   */
  discard(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`discard: count must be a non-negative integer, got ${n}`);
    // the first left - 1 words need no twist; each twist then provides N more
    let rest = n;
    const free = Math.min(rest, this.left - 1);
    this.left -= free;
    this.next += free;
    rest -= free;
    while (rest > 0) {
      this.twist();
      const take = Math.min(rest, N);
      // nextUint32 after a twist: left counts down from N, next counts up from 0
      this.left = N - take + 1;
      this.next = take;
      rest -= take;
    }
  }

  private twist(): void {
    const mt = this.mt;
    // mt[k] = mt[(k + M) % N] ^ mix(mt[k], mt[(k + 1) % N]), in three runs without the modulo
    const mix = (u: number, v: number): number => {
      const y = (u & 0x80000000) | (v & 0x7fffffff);
      return (y >>> 1) ^ (v & 1 ? MATRIX_A : 0);
    };
    let k = 0;
    for (; k < N - M; k++) mt[k] = mt[k + M] ^ mix(mt[k], mt[k + 1]);
    for (; k < N - 1; k++) mt[k] = mt[k + M - N] ^ mix(mt[k], mt[k + 1]);
    mt[N - 1] = mt[M - 1] ^ mix(mt[N - 1], mt[0]);
    this.left = N;
    this.next = 0;
  }

  getState(): Mt19937State {
    return { state: Array.from(this.mt), left: this.left, next: this.next };
  }

  setState(s: Mt19937State): void {
    if (!s || !Array.isArray(s.state) || s.state.length !== N) {
      throw new Error(`mt19937 state must hold ${N} words, got ${Array.isArray(s?.state) ? s.state.length : typeof s?.state}`);
    }
    if (!Number.isInteger(s.left) || s.left < 1 || s.left > N || !Number.isInteger(s.next) || s.next < 0 || s.next + s.left > N + 1) {
      throw new Error(`mt19937 state position is inconsistent: left ${s.left}, next ${s.next} (expected 1 <= left <= ${N}, next + left <= ${N + 1})`);
    }
    s.state.forEach((w, i) => {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new Error(`mt19937 state word ${i} is ${w}, expected an unsigned 32-bit integer`);
    });
    // the twister's 19937 state bits are the top bit of word 0 and words 1..623 (twist never reads
    // word 0's low bits); all of them zero is the one state that outputs zeros forever
    if (s.state[0] < 0x80000000 && s.state.every((w, i) => i === 0 || w === 0)) {
      throw new Error('mt19937 state is all zero (no seed ever produces it; the generator would draw only zeros)');
    }
    this.mt.set(s.state);
    this.left = s.left;
    this.next = s.next;
  }
}
