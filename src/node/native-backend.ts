import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../backend/backend.js';

/** The addon's exports (native/src/addon.cc): every kernel of the Backend interface, same arguments, plus its own controls. */
type Addon = Omit<Backend, 'name' | 'alloc' | 'free'> & {
  alignOffset(buf: Float32Array): number;
  zero(buf: Float32Array): void;
  configure(isa: string | null, threads: number | null, spinMicros: number | null): void;
  info(): { isa: string; threads: number; spinMicros: number };
};

/** Where the addon is built: native/build/Release under the package root. */
function addonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'native', 'build', 'Release', 'yorick_native.node');
}

let addon: Addon | null | undefined;
let loadError: string | undefined;

function loadAddon(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.YORICK_NATIVE === '0') {
    loadError = 'disabled by YORICK_NATIVE=0';
    return null;
  }
  const path = addonPath();
  if (!existsSync(path)) {
    loadError = `not built (no ${path}; \`npm run build:native\` builds it, which needs a C++ compiler)`;
    return null;
  }
  try {
    addon = createRequire(import.meta.url)(path) as Addon;
  } catch (e) {
    loadError = `${path} failed to load: ${(e as Error).message.split('\n')[0]}`;
  }
  return addon;
}

/** Whether the native backend loads here, with which instruction set, or why not. */
export function nativeInfo(): { loaded: boolean; isa: string | null; threads?: number; why?: string } {
  const a = loadAddon();
  if (!a) return { loaded: false, isa: null, why: loadError };
  const { isa, threads } = a.info();
  return { loaded: true, isa, threads };
}

/**
 * For tests and benchmarks: force an instruction set ('avx512', 'avx2', 'generic'; a set the
 * CPU lacks falls back to the best it has), the thread count, and the workers' spin time
 * before they sleep (microseconds). Pass null to leave a setting as it is.
 */
export function configureNative(opts: { isa?: string | null; threads?: number | null; spinMicros?: number | null }): void {
  const a = loadAddon();
  if (!a) throw new Error(`native backend: ${loadError}`);
  a.configure(opts.isa ?? null, opts.threads ?? null, opts.spinMicros ?? null);
}

/** Loads the native backend, or returns null (nativeInfo().why says why). */
export function loadNativeBackend(): NativeBackend | null {
  const a = loadAddon();
  return a ? new NativeBackend(a) : null;
}

const POOL_LIMIT_BYTES = 128 * 1024 * 1024;

/**
 * The C++ kernels (native/src) behind the Backend interface. Buffers are 64-byte aligned
 * views into slightly larger ArrayBuffers; freed buffers are kept per size and handed out
 * again (zero-filled), so a training step reuses the previous step's memory instead of
 * asking the allocator (and the kernel's page faults) for fresh pages.
 */
export class NativeBackend implements Backend {
  readonly name: string = 'native';
  private readonly pool = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<Float32Array>();
  private readonly pooled = new WeakSet<Float32Array>();
  private pooledBytes = 0;

  constructor(private readonly k: Addon) {}

  get isa(): string {
    return this.k.info().isa;
  }

  /** Threads the kernels run on (YORICK_THREADS, else the CPUs this process may use). */
  get threads(): number {
    return this.k.info().threads;
  }

  alloc(n: number, zero = true): Float32Array {
    const free = this.pool.get(n);
    const reused = free?.pop();
    if (reused) {
      this.pooled.delete(reused);
      this.pooledBytes -= n * 4;
      if (!zero) return reused;
      // large buffers are zeroed by the addon on all threads
      if (n >= 65536) this.k.zero(reused);
      else reused.fill(0);
      return reused;
    }
    const raw = new Float32Array(new ArrayBuffer((n + 16) * 4));
    const off = this.k.alignOffset(raw);
    const buf = raw.subarray(off, off + n);
    this.owned.add(buf);
    return buf;
  }

  free(buf: Float32Array): void {
    // Only buffers from alloc() are reused, each once; anything else is left to the GC.
    if (!this.owned.has(buf) || this.pooled.has(buf)) return;
    if (this.pooledBytes + buf.length * 4 > POOL_LIMIT_BYTES) {
      // Sizes that keep changing (sampling with a growing context) would fill the pool with
      // buffers nobody asks for again: start over rather than stop reusing.
      this.pool.clear();
      this.pooledBytes = 0;
    }
    let list = this.pool.get(buf.length);
    if (!list) this.pool.set(buf.length, (list = []));
    list.push(buf);
    this.pooled.add(buf);
    this.pooledBytes += buf.length * 4;
  }

  matmul(c: Float32Array, a: Float32Array, b: Float32Array, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    this.k.matmul(c, a, b, M, N, K, transA, transB, accumulate);
  }
  addBroadcast(out: Float32Array, a: Float32Array, b: Float32Array, size: number, n: number): void {
    this.k.addBroadcast(out, a, b, size, n);
  }
  sumRowsInto(db: Float32Array, dy: Float32Array, rows: number, n: number): void {
    this.k.sumRowsInto(db, dy, rows, n);
  }
  axpy(dst: Float32Array, src: Float32Array, scale: number, n: number): void {
    this.k.axpy(dst, src, scale, n);
  }
  scale(out: Float32Array, x: Float32Array, scale: number, n: number): void {
    this.k.scale(out, x, scale, n);
  }
  sumSquares(x: Float32Array, n: number): number {
    return this.k.sumSquares(x, n);
  }
  embedding(out: Float32Array, table: Float32Array, ids: Int32Array, N: number, C: number): void {
    this.k.embedding(out, table, ids, N, C);
  }
  embeddingBackward(dtable: Float32Array, dout: Float32Array, ids: Int32Array, N: number, C: number): void {
    this.k.embeddingBackward(dtable, dout, ids, N, C);
  }
  layerNorm(out: Float32Array, mean: Float32Array, rstd: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array | null, N: number, C: number, eps: number): void {
    this.k.layerNorm(out, mean, rstd, x, w, b, N, C, eps);
  }
  layerNormBackward(dx: Float32Array, dw: Float32Array, db: Float32Array | null, dout: Float32Array, x: Float32Array, w: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number): void {
    this.k.layerNormBackward(dx, dw, db, dout, x, w, mean, rstd, N, C);
  }
  gelu(out: Float32Array, x: Float32Array, n: number, tanh: boolean): void {
    this.k.gelu(out, x, n, tanh);
  }
  geluBackward(dx: Float32Array, dout: Float32Array, x: Float32Array, n: number, tanh: boolean): void {
    this.k.geluBackward(dx, dout, x, n, tanh);
  }
  attention(out: Float32Array, att: Float32Array, qkv: Float32Array, dropMask: Float32Array | null, B: number, T: number, C: number, H: number): void {
    this.k.attention(out, att, qkv, dropMask, B, T, C, H);
  }
  attentionBackward(dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array, dropMask: Float32Array | null, B: number, T: number, C: number, H: number): void {
    this.k.attentionBackward(dqkv, dout, qkv, att, dropMask, B, T, C, H);
  }
  softmax(out: Float32Array, x: Float32Array, N: number, V: number, temperature: number): void {
    this.k.softmax(out, x, N, V, temperature);
  }
  crossEntropy(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): number {
    return this.k.crossEntropy(losses, probs, logits, targets, N, V);
  }
  crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, dloss: number, N: number, V: number): void {
    this.k.crossEntropyBackward(dlogits, probs, targets, dloss, N, V);
  }
  mul(out: Float32Array, x: Float32Array, mask: Float32Array, n: number): void {
    this.k.mul(out, x, mask, n);
  }
  mulBackward(dx: Float32Array, dout: Float32Array, mask: Float32Array, n: number): void {
    this.k.mulBackward(dx, dout, mask, n);
  }
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, t: number, gradScale: number): void {
    this.k.adamw(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, t, gradScale);
  }
}

let warned = false;

/** The registry entry (src/node/backends.ts): says once per process when the addon is missing. */
export const nativeEntry = {
  name: 'native',
  /** Names the instruction set and thread count in use once the addon has loaded. */
  get describe(): string {
    const info = nativeInfo();
    const inUse = info.loaded ? `: ${info.isa} on ${info.threads} thread(s)` : '';
    return `C++ kernels through Node-API (AVX-512, AVX2, NEON or portable, picked at run time)${inUse}`;
  },
  async load(): Promise<Backend | null> {
    const b = loadNativeBackend();
    if (!b && !warned && process.env.YORICK_NATIVE !== '0') {
      warned = true;
      process.stderr.write(`yorick: native backend unavailable (${loadError}); using the next backend\n`);
    }
    return b;
  },
  get why(): string | undefined {
    return loadError;
  },
};
