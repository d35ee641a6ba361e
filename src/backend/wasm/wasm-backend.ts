import { CpuBackend } from '../cpu.js';
import { WasmHeap } from './heap.js';
import type { KernelExports, ParallelKernel, PartKernel } from './kernels.js';
import type { ThreadPool } from './pool.js';

/**
 * Below these amounts of work (multiply-adds, or elements) a kernel runs on the calling thread
 * alone: handing out chunks costs about a microsecond with the workers spinning, 10-15 us if
 * they sleep.
 */
const PARALLEL_MIN = { matmul: 1 << 17, elementwise: 1 << 15, transcendental: 1 << 13, rows: 1 << 14, attention: 1 << 16, zeroBytes: 1 << 18 };
/** Chunks per thread: more than one, so that a thread the OS deschedules holds up little. */
const CHUNKS_PER_THREAD = 3;

type Buf = Float32Array | Int32Array;

/**
 * Every kernel of the engine as WebAssembly SIMD128 code, split over a thread pool when one is
 * given. Buffers are views of the module's memory (alloc), so kernels get byte offsets and copy
 * nothing; a buffer from elsewhere (a plain Float32Array, the Int32Array of token ids) is copied
 * into scratch for the call, and back out when the kernel writes it.
 */
export class WasmBackend extends CpuBackend {
  readonly name: string = 'wasm';
  readonly heap: WasmHeap;
  private readonly k: KernelExports & Record<ParallelKernel, PartKernel>;
  private scratchOff = 0;
  private scratchSize = 0;
  /** Copies made for the current call: [offset, bytes, original, copy back]. */
  private temps: [number, number, Buf, boolean][] = [];

  constructor(instance: WebAssembly.Instance, readonly memory: WebAssembly.Memory, readonly pool: ThreadPool | null = null) {
    super();
    this.k = instance.exports as unknown as KernelExports & Record<ParallelKernel, PartKernel>;
    this.heap = new WasmHeap(memory, this.k.heapBase(), (p, n) => this.zero(p, n));
  }

  /** Threads a large kernel is split over, the calling one included. */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  alloc(n: number, zero = true): Float32Array {
    return this.heap.alloc(n, zero);
  }

  free(buf: Float32Array): void {
    this.heap.free(buf);
  }

  /** Stops the worker threads (the backend then runs on this thread only). */
  dispose(): void {
    this.pool?.stop();
    (this as { pool: ThreadPool | null }).pool = null;
  }

  // ---- plumbing

  /** Zeroes n bytes at p; a large block on every thread (alloc must hand out zeros, 60 MB a training step here). */
  private zero(p: number, n: number): void {
    const nchunks = this.chunks(n, PARALLEL_MIN.zeroBytes, Math.floor(n / 65536));
    if (nchunks > 1) this.pool!.run('zeroRange', this.k.zeroRange, [p, n], nchunks);
    else this.k.zero(p, n);
  }

  /** Byte offset of buf in the module's memory, copying it in first if it lives elsewhere. */
  private ptr(buf: Buf, copyBack = false): number {
    if (this.heap.owns(buf)) return buf.byteOffset;
    const bytes = buf.length * 4;
    const off = this.heap.allocScratch(bytes);
    const view = buf instanceof Int32Array ? new Int32Array(this.memory.buffer, off, buf.length) : new Float32Array(this.memory.buffer, off, buf.length);
    view.set(buf);
    this.temps.push([off, bytes, buf, copyBack]);
    return off;
  }

  private out(buf: Float32Array): number {
    return this.ptr(buf, true);
  }

  /** After a kernel: results written to copies go back to their arrays; copies are released. */
  private finish(): void {
    if (this.temps.length === 0) return;
    for (const [off, bytes, buf, back] of this.temps) {
      if (back) (buf as Float32Array).set(new Float32Array(this.memory.buffer, off, buf.length));
      this.heap.freeScratch(off, bytes);
    }
    this.temps = [];
  }

  /** Per-thread scratch: nparts regions of `stride` bytes, reused across calls. */
  private scratch(bytes: number): number {
    if (bytes > this.scratchSize) {
      if (this.scratchSize) this.heap.freeScratch(this.scratchOff, this.scratchSize);
      this.scratchSize = Math.max(bytes, this.scratchSize * 2);
      this.scratchOff = this.heap.allocScratch(this.scratchSize);
    }
    return this.scratchOff;
  }

  /** How many chunks to cut `units` independent pieces of work into: 1 (this thread alone) below `min` work. */
  private chunks(work: number, min: number, units: number, perThread = CHUNKS_PER_THREAD): number {
    if (this.pool === null || work < min || units < 2) return 1;
    return Math.min(units, this.pool.threads * perThread, 0xffff);
  }

  private run(name: ParallelKernel, nchunks: number, args: number[]): void {
    try {
      if (nchunks > 1) this.pool!.run(name, this.k[name], args, nchunks);
      else this.k[name](...args, 0, 1, 0);
    } finally {
      this.finish();
    }
  }

  /** Chunks of an elementwise kernel over n values (at least 4096 each). */
  private elementwise(n: number, min = PARALLEL_MIN.elementwise): number {
    return this.chunks(n, min, Math.ceil(n / 4096));
  }

  // ---- kernels (see Backend for what each computes)

  matmul(c: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean): void {
    if (M === 0 || N === 0) return;
    if (K === 0) {
      if (!accumulate) c.fill(0, 0, M * N);
      return;
    }
    // the kernel splits rows (4 at a time) when M > N, else column panels (8 at a time); 1 to 3 rows: columns by 4
    const units = M < 4 ? Math.ceil(N / 4) : M > N ? Math.ceil(M / 4) : Math.ceil(N / 8);
    const nchunks = this.chunks(M * N * K, PARALLEL_MIN.matmul, units);
    const stride = this.k.matmulScratchBytes(M, N, K);
    const scratch = this.scratch(stride * (nchunks > 1 ? this.threads : 1));
    this.run('matmul', nchunks, [this.out(c), this.ptr(a), this.ptr(b), M, N, K,
      transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0, scratch, stride]);
  }

  addBroadcast(out: Float32Array, a: Float32Array, b: Float32Array, size: number, n: number): void {
    if (size === 0) return;
    this.run('addBroadcast', this.chunks(size, PARALLEL_MIN.elementwise, Math.floor(size / n)), [this.out(out), this.ptr(a), this.ptr(b), size, n]);
  }

  sumRowsInto(db: Float32Array, dy: Float32Array, rows: number, n: number): void {
    this.run('sumRowsInto', this.chunks(rows * n, PARALLEL_MIN.elementwise, Math.floor(n / 64)), [this.out(db), this.ptr(dy), rows, n]);
  }

  axpy(dst: Float32Array, src: Float32Array, scale: number, n: number): void {
    this.run('axpy', this.elementwise(n), [this.out(dst), this.ptr(src), scale, n]);
  }

  scale(out: Float32Array, x: Float32Array, scale: number, n: number): void {
    this.run('scale', this.elementwise(n), [this.out(out), this.ptr(x), scale, n]);
  }

  protected sumSquaresValue(x: Float32Array, n: number): number {
    try {
      return this.k.sumSquares(this.ptr(x), n);
    } finally {
      this.finish();
    }
  }

  embedding(out: Float32Array, table: Float32Array, ids: Int32Array, N: number, C: number): void {
    this.run('embedding', this.chunks(N * C, PARALLEL_MIN.elementwise, N), [this.out(out), this.ptr(table), this.ptr(ids), N, C]);
  }

  embeddingBackward(dtable: Float32Array, dout: Float32Array, ids: Int32Array, N: number, C: number): void {
    try {
      this.k.embeddingBackward(this.out(dtable), this.ptr(dout), this.ptr(ids), N, C);
    } finally {
      this.finish();
    }
  }

  layerNorm(out: Float32Array, mean: Float32Array, rstd: Float32Array, x: Float32Array,
    w: Float32Array, b: Float32Array | null, N: number, C: number, eps: number): void {
    this.run('layerNorm', this.chunks(N * C, PARALLEL_MIN.rows, N), [this.out(out), this.out(mean), this.out(rstd), this.ptr(x),
      this.ptr(w), b ? this.ptr(b) : 0, N, C, eps]);
  }

  layerNormBackward(dx: Float32Array, dw: Float32Array, db: Float32Array | null, dout: Float32Array,
    x: Float32Array, w: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number): void {
    try {
      this.k.layerNormBackward(this.out(dx), this.out(dw), db ? this.out(db) : 0, this.ptr(dout), this.ptr(x), this.ptr(w),
        this.ptr(mean), this.ptr(rstd), N, C);
    } finally {
      this.finish();
    }
  }

  gelu(out: Float32Array, x: Float32Array, n: number, tanh: boolean): void {
    this.run('gelu', this.elementwise(n, PARALLEL_MIN.transcendental), [this.out(out), this.ptr(x), n, tanh ? 1 : 0]);
  }

  geluBackward(dx: Float32Array, dout: Float32Array, x: Float32Array, n: number, tanh: boolean): void {
    this.run('geluBackward', this.elementwise(n, PARALLEL_MIN.transcendental), [this.out(dx), this.ptr(dout), this.ptr(x), n, tanh ? 1 : 0]);
  }

  attentionMasked(out: Float32Array, att: Float32Array, qkv: Float32Array, dropMask: Float32Array | null,
    B: number, T: number, C: number, H: number): void {
    // a chunk per (batch, head) pair: cheap to claim, and no repacking
    const nchunks = this.chunks(B * H * T * T * (C / H), PARALLEL_MIN.attention, B * H, Infinity);
    const stride = this.k.attentionScratchBytes(T, C, H);
    const scratch = this.scratch(stride * (nchunks > 1 ? this.threads : 1));
    this.run('attention', nchunks, [this.out(out), this.out(att), this.ptr(qkv), dropMask ? this.ptr(dropMask) : 0,
      B, T, C, H, scratch, stride]);
  }

  attentionMaskedBackward(dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array,
    dropMask: Float32Array | null, B: number, T: number, C: number, H: number): void {
    // a chunk per (batch, head) pair: cheap to claim, and no repacking
    const nchunks = this.chunks(B * H * T * T * (C / H), PARALLEL_MIN.attention, B * H, Infinity);
    const stride = this.k.attentionScratchBytes(T, C, H);
    const scratch = this.scratch(stride * (nchunks > 1 ? this.threads : 1));
    this.run('attentionBackward', nchunks, [this.out(dqkv), this.ptr(dout), this.ptr(qkv), this.ptr(att),
      dropMask ? this.ptr(dropMask) : 0, B, T, C, H, scratch, stride]);
  }

  softmax(out: Float32Array, x: Float32Array, N: number, V: number, temperature: number): void {
    this.run('softmax', this.chunks(N * V, PARALLEL_MIN.rows, N), [this.out(out), this.ptr(x), N, V, temperature]);
  }

  protected crossEntropyRows(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array,
    N: number, V: number): void {
    this.run('crossEntropy', this.chunks(N * V, PARALLEL_MIN.rows, N), [this.out(losses), this.out(probs), this.ptr(logits),
      this.ptr(targets), N, V]);
  }

  protected crossEntropyRowsBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, dloss: number,
    N: number, V: number): void {
    this.run('crossEntropyBackward', this.chunks(N * V, PARALLEL_MIN.rows, N), [this.out(dlogits), this.ptr(probs),
      this.ptr(targets), dloss, N, V]);
  }

  mul(out: Float32Array, x: Float32Array, mask: Float32Array, n: number): void {
    this.run('mul', this.elementwise(n), [this.out(out), this.ptr(x), this.ptr(mask), n]);
  }

  mulBackward(dx: Float32Array, dout: Float32Array, mask: Float32Array, n: number): void {
    this.run('mulBackward', this.elementwise(n), [this.out(dx), this.ptr(dout), this.ptr(mask), n]);
  }

  protected adamwStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, t: number, gradScale: number): void {
    const bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
    this.run('adamw', this.elementwise(n), [this.out(p), this.ptr(g), this.out(m), this.out(v), n,
      lr / bc1, beta1, beta2, eps, 1 - lr * weightDecay, 1 / Math.sqrt(bc2), gradScale]);
  }
}
