/**
 * PyTorch's CPU random generator (CPUGeneratorImpl over mt19937) and the CPU algorithms of
 * PyTorch 1.13 on top of it, so that a seed means what `torch.manual_seed(seed)` means: the same
 * integers, the same floats (float32 within one ulp, most of them bit for bit), drawn in the same
 * order. Every method consumes the stream exactly as the named PyTorch call does.
 *
 * float32 normal_ from 16 elements up follows PyTorch's AVX2 kernel, the one PyTorch runs on any
 * CPU with AVX2 (a CPU without it gets PyTorch's generic kernel, whose last bits differ).
 * float64 results use JavaScript's log/sin/cos where PyTorch uses glibc's: they can differ in the
 * last bit or two of the double, far below float32 precision.
 *
 * Word use, for reading the methods: `random()` is one 32-bit word; `random64()` two (the first
 * is the high half). float32 uniforms take 24 bits of one word, float64 uniforms 53 bits of two.
 */
import { Mt19937, type Mt19937State } from './mt19937.js';
import { cephesLogf, cephesSinCosf, fmaf } from './float32-math.js';

const f32 = Math.fround;
const TWO_POW_32 = 4294967296;
const TWO_PI_F32 = f32(2 * Math.PI);
const MIN_SEED = -(2n ** 63n);
const MAX_SEED = 2n ** 64n - 1n;

export type FloatDtype = 'float32' | 'float64';

/** Everything needed to continue the stream: JSON-serializable. */
export interface TorchGeneratorState {
  kind: 'torch-mt19937';
  /** the seed as torch.initial_seed() reports it (unsigned 64-bit, in decimal) */
  seed: string;
  mt: Mt19937State;
  /** Box-Muller's second value kept by the scalar normal path (PyTorch's next_double_normal_sample) */
  nextDoubleNormal: number | null;
  /** PyTorch's next_float_normal_sample (no CPU kernel of 1.13 sets it; kept for completeness) */
  nextFloatNormal: number | null;
}

/**
 * A seed as torch.manual_seed takes it: an integer in [-2^63, 2^64 - 1]; a negative one stands
 * for its two's complement (-1 is 2^64 - 1). Returns the unsigned 64-bit value.
 */
export function torchSeed(seed: number | bigint): bigint {
  let s: bigint;
  if (typeof seed === 'bigint') s = seed;
  else if (typeof seed === 'number' && Number.isSafeInteger(seed)) s = BigInt(seed);
  else throw new Error(`seed must be an integer (as torch.manual_seed takes it), got ${String(seed)}${typeof seed === 'number' && Number.isInteger(seed) ? ' (past 2^53: pass it as a bigint)' : ''}`);
  if (s < MIN_SEED || s > MAX_SEED) throw new Error(`seed ${s} is outside PyTorch's range [-2^63, 2^64 - 1]`);
  return s < 0n ? s + 2n ** 64n : s;
}

export class TorchGenerator {
  private readonly engine = new Mt19937();
  private seedValue = 67280421310721n; // PyTorch's default_rng_seed_val
  private nextDoubleNormal: number | null = null;
  private nextFloatNormal: number | null = null;

  constructor(seed: number | bigint = 67280421310721n) {
    this.manualSeed(seed);
  }

  /** torch.manual_seed: reseeds the twister from the low 32 bits and forgets cached normals. */
  manualSeed(seed: number | bigint): this {
    this.seedValue = torchSeed(seed);
    this.engine.seed(Number(this.seedValue & 0xffffffffn));
    this.nextDoubleNormal = null;
    this.nextFloatNormal = null;
    return this;
  }

  /** torch.initial_seed(): the unsigned 64-bit seed. */
  initialSeed(): bigint {
    return this.seedValue;
  }

  /** One 32-bit word (CPUGeneratorImpl::random). */
  random(): number {
    return this.engine.nextUint32();
  }

  /** float32 uniform in [0, 1): 24 bits of one word. */
  private uniform24(): number {
    return (this.engine.nextUint32() & 0xffffff) / 16777216;
  }

  /** float64 uniform in [0, 1): the low 53 bits of random64 (high word drawn first). */
  private uniform53(): number {
    const hi = this.engine.nextUint32() & 0x1fffff;
    const lo = this.engine.nextUint32();
    return (hi * TWO_POW_32 + lo) / 9007199254740992;
  }

  getState(): TorchGeneratorState {
    return {
      kind: 'torch-mt19937',
      seed: this.seedValue.toString(),
      mt: this.engine.getState(),
      nextDoubleNormal: this.nextDoubleNormal,
      nextFloatNormal: this.nextFloatNormal,
    };
  }

  setState(state: TorchGeneratorState): void {
    if (!state || state.kind !== 'torch-mt19937') {
      throw new Error(`not a PyTorch-compatible generator state (kind ${JSON.stringify((state as { kind?: unknown } | undefined)?.kind)}, expected "torch-mt19937")`);
    }
    for (const k of ['nextDoubleNormal', 'nextFloatNormal'] as const) {
      const v = state[k];
      if (v !== null && !(typeof v === 'number' && Number.isFinite(v))) throw new Error(`generator state ${k} must be a finite number or null, got ${JSON.stringify(v)}`);
    }
    if (typeof state.seed !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(state.seed)) {
      throw new Error(`generator state seed must be an unsigned 64-bit integer in decimal, got ${JSON.stringify(state.seed)}`);
    }
    const seed = torchSeed(BigInt(state.seed));
    this.engine.setState(state.mt);
    this.seedValue = seed;
    this.nextDoubleNormal = state.nextDoubleNormal;
    this.nextFloatNormal = state.nextFloatNormal;
  }

  /**
   * torch.randint(low, high, (n,)): (word % range) + low, one word per value while the range is
   * below 2^32, two words (random64) from 2^32 up. low/high must be safe integers.
   */
  randint(low: number, high: number, n: number): number[] {
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || high <= low) {
      throw new Error(`randint needs integers low < high, got low ${low}, high ${high}`);
    }
    checkCount(n, 'randint');
    const range = high - low;
    const out = new Array<number>(n);
    if (range < TWO_POW_32) {
      for (let i = 0; i < n; i++) out[i] = (this.engine.nextUint32() % range) + low;
    } else {
      const r = BigInt(range);
      for (let i = 0; i < n; i++) {
        const hi = BigInt(this.engine.nextUint32());
        const lo = BigInt(this.engine.nextUint32());
        out[i] = Number(((hi << 32n) | lo) % r) + low;
      }
    }
    return out;
  }

  /** Tensor.uniform_(from, to) / torch.rand: x * (to - from) + from in the tensor's dtype. */
  uniform(n: number, from = 0, to = 1, dtype: FloatDtype = 'float32'): Float32Array | Float64Array {
    checkCount(n, 'uniform');
    if (!(from <= to)) throw new Error(`uniform needs from <= to, got from ${from}, to ${to}`);
    if (dtype === 'float64') {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = this.uniform53() * (to - from) + from;
      return out;
    }
    const lo = f32(from), width = f32(f32(to) - lo);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = fmaf(this.uniform24(), width, lo);
    return out;
  }

  /**
   * Tensor.normal_(mean, std) / torch.randn. Below 16 elements (and for any float64 count under
   * 16): Box-Muller in double, one value at a time, keeping the pair's second value for the next
   * call. From 16 up: all uniforms first, then Box-Muller over blocks of 16 (8 pairs); when n is
   * not a multiple of 16 the last 16 values are drawn again and recomputed.
   */
  normal(n: number, mean = 0, std = 1, dtype: FloatDtype = 'float32'): Float32Array | Float64Array {
    checkCount(n, 'normal');
    if (!(std >= 0)) throw new Error(`normal needs std >= 0, got ${std}`);
    if (n < 16) {
      const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = this.normalScalar(mean, std);
      return out;
    }
    return dtype === 'float64' ? this.normalFill64(n, mean, std) : this.normalFill32(n, f32(mean), f32(std));
  }

  /**
   * Moves the stream on exactly as normal(n) in float32 would, without computing the values
   * (for weights that are drawn and then replaced by loaded ones).
   */
  skipNormal(n: number): void {
    checkCount(n, 'skipNormal');
    if (n < 16) this.normal(n); // the scalar path also leaves a cached value behind
    else this.engine.discard(n + (n % 16 !== 0 ? 16 : 0)); // normalFill32's words
  }

  /** Moves the stream on exactly as uniform(n) in float32 would (one word a value). */
  skipUniform(n: number): void {
    checkCount(n, 'skipUniform');
    this.engine.discard(n);
  }

  /** normal_distribution<double>: u1 gives the angle, u2 the radius; sin is cached. */
  private normalScalar(mean: number, std: number): number {
    if (this.nextDoubleNormal !== null) {
      const cached = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
      return cached * std + mean;
    }
    const u1 = this.uniform53();
    const u2 = this.uniform53();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta) * std + mean;
  }

  /** normal_fill_AVX2: float32 uniforms, then the vectorized float32 Box-Muller per 16. */
  private normalFill32(n: number, mean: number, std: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniform24();
    for (let i = 0; i + 16 <= n; i += 16) boxMuller16f(out, i, mean, std);
    if (n % 16 !== 0) {
      for (let i = n - 16; i < n; i++) out[i] = this.uniform24();
      boxMuller16f(out, n - 16, mean, std);
    }
    return out;
  }

  /** normal_fill<double>: the same blocks, in double with the C library's log, sin and cos. */
  private normalFill64(n: number, mean: number, std: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniform53();
    const block = (at: number): void => {
      for (let j = at; j < at + 8; j++) {
        const radius = Math.sqrt(-2 * Math.log(1 - out[j]));
        const theta = 2 * Math.PI * out[j + 8];
        out[j] = radius * Math.cos(theta) * std + mean;
        out[j + 8] = radius * Math.sin(theta) * std + mean;
      }
    };
    for (let i = 0; i + 16 <= n; i += 16) block(i);
    if (n % 16 !== 0) {
      for (let i = n - 16; i < n; i++) out[i] = this.uniform53();
      block(n - 16);
    }
    return out;
  }

  /** Tensor.exponential_(lambda): -1/lambda * log(1 - u), u a float64 uniform, cast to the dtype. */
  exponential(n: number, lambda = 1, dtype: FloatDtype = 'float32'): Float32Array | Float64Array {
    checkCount(n, 'exponential');
    if (!(lambda > 0)) throw new Error(`exponential needs lambda > 0, got ${lambda}`);
    const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (-1 / lambda) * Math.log(1 - this.uniform53());
    return out;
  }

  /**
   * torch.multinomial(probs, 1) for each of `rows` rows of `probs` (row-major, unnormalized
   * weights allowed): q = exponential_(1) over the whole tensor in the probs' dtype, then the
   * first index of the largest p / q in each row (PyTorch's path for one sample).
   */
  multinomial1(probs: Float32Array | Float64Array | number[], rows = 1): Int32Array {
    const dtype: FloatDtype = probs instanceof Float64Array ? 'float64' : 'float32';
    const v = probs.length / rows;
    if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(v) || v < 1) {
      throw new Error(`multinomial: ${probs.length} probabilities do not split into ${rows} rows`);
    }
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let i = r * v; i < (r + 1) * v; i++) {
        const p = probs[i];
        if (!(p >= 0) || p === Infinity) throw new Error(`multinomial: probability ${p} at index ${i - r * v} of row ${r} is not finite and >= 0`);
        sum += p;
      }
      if (!(sum > 0)) throw new Error(`multinomial: row ${r} sums to ${sum}; it needs a positive weight`);
    }
    // exponential_(1) over the whole tensor; its log is only needed where p > 0 (elsewhere the
    // ratio is 0, or NaN when q is 0, i.e. u is 0): top-k sampling zeroes all but k of 50,257
    const u = new Float64Array(probs.length);
    for (let i = 0; i < u.length; i++) u[i] = this.uniform53();
    const out = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      let best = -Infinity, at = 0;
      for (let i = 0; i < v; i++) {
        const k = r * v + i;
        let ratio: number;
        if (probs[k] === 0) ratio = u[k] === 0 ? NaN : 0;
        else {
          const q = -Math.log(1 - u[k]);
          ratio = dtype === 'float32' ? f32(probs[k] / f32(q)) : probs[k] / q;
        }
        if (Number.isNaN(ratio)) { at = i; break; } // argmax takes the first NaN
        if (ratio > best) { best = ratio; at = i; }
      }
      out[r] = at;
    }
    return out;
  }

  /**
   * The float32 mask F.dropout(x, p, training=True) multiplies x by on the CPU: bernoulli_(1 - p)
   * (a float64 uniform u per element, kept when u < 1 - p) divided by 1 - p in float32. p = 0
   * and p = 1 draw nothing, as in PyTorch.
   */
  dropoutMask(n: number, p: number): Float32Array {
    checkCount(n, 'dropoutMask');
    if (!(p >= 0 && p <= 1)) throw new Error(`dropout probability has to be between 0 and 1, got ${p}`);
    const out = new Float32Array(n);
    if (p === 0) return out.fill(1);
    if (p === 1) return out;
    const keep = 1 - p;
    const scale = f32(1 / f32(keep));
    for (let i = 0; i < n; i++) out[i] = this.uniform53() < keep ? scale : 0;
    return out;
  }

  /** torch.randperm(n) on the CPU: a forward Fisher-Yates swap with word % (n - i). */
  randperm(n: number): number[] {
    checkCount(n, 'randperm');
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < n - 1; i++) {
      const z = this.engine.nextUint32() % (n - i);
      const t = out[i];
      out[i] = out[i + z];
      out[i + z] = t;
    }
    return out;
  }

  /**
   * nn.Linear(inFeatures, outFeatures)'s default initialization: kaiming_uniform_(a=sqrt(5)) on
   * the [out, in] weight, then uniform(-1/sqrt(in), 1/sqrt(in)) on the bias when there is one.
   */
  linearInit(outFeatures: number, inFeatures: number, bias = true): { weight: Float32Array; bias: Float32Array | null } {
    checkCount(outFeatures, 'linearInit out_features');
    checkCount(inFeatures, 'linearInit in_features');
    // torch.nn.init's arithmetic, in double as Python does it
    const a = Math.sqrt(5);
    const gain = Math.sqrt(2 / (1 + a * a));
    const bound = Math.sqrt(3) * (gain / Math.sqrt(inFeatures));
    const weight = this.uniform(outFeatures * inFeatures, -bound, bound) as Float32Array;
    if (!bias) return { weight, bias: null };
    const b = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    return { weight, bias: this.uniform(outFeatures, -b, b) as Float32Array };
  }

  /** nn.Embedding(numEmbeddings, dim)'s default initialization: normal_(0, 1) on [V, C]. */
  embeddingInit(numEmbeddings: number, dim: number): Float32Array {
    checkCount(numEmbeddings, 'embeddingInit num_embeddings');
    checkCount(dim, 'embeddingInit embedding_dim');
    return this.normal(numEmbeddings * dim) as Float32Array;
  }
}

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what}: count must be a non-negative integer, got ${n}`);
}

/** One AVX2 block: pairs (j, j + 8) of uniforms become two normals, in float32. */
function boxMuller16f(data: Float32Array, at: number, mean: number, std: number): void {
  for (let j = at; j < at + 8; j++) {
    const u1 = f32(1 - data[j]);
    const radius = f32(Math.sqrt(f32(-2 * cephesLogf(u1))));
    const [sin, cos] = cephesSinCosf(f32(TWO_PI_F32 * data[j + 8]));
    data[j] = fmaf(f32(radius * cos), std, mean);
    data[j + 8] = fmaf(f32(radius * sin), std, mean);
  }
}
