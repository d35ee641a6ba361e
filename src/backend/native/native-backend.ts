import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../backend.js';
import { CPU_FAST_KERNELS, CpuBackend, type CpuFastKernels } from '../cpu.js';

/**
 * The addon's exports (native/src/addon.cc), by name: the CPU backends' fast kernels with the
 * contract's arguments, the four host-side forms CpuBackend adapts, and the addon's controls.
 */
type Addon = CpuFastKernels & {
  sumSquares(x: Float32Array, n: number): number;
  crossEntropy(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): number;
  crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, dloss: number, N: number, V: number): void;
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, t: number, gradScale: number): void;
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
export interface NativeBackend extends CpuFastKernels {}
export class NativeBackend extends CpuBackend {
  readonly name: string = 'native';
  private readonly pool = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<Float32Array>();
  private readonly pooled = new WeakSet<Float32Array>();
  private pooledBytes = 0;

  constructor(private readonly k: Addon) {
    super();
    // the addon's functions are the kernels themselves: bound by name, checked at load
    const self = this as unknown as Record<string, unknown>;
    for (const name of CPU_FAST_KERNELS) {
      if (typeof k[name] !== 'function') throw new Error(`native addon is missing kernel "${name}" (rebuild it: npm run build:native)`);
      self[name] = k[name];
    }
  }

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

  protected sumSquaresValue(x: Float32Array, n: number): number {
    return this.k.sumSquares(x, n);
  }
  protected crossEntropyRows(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void {
    this.k.crossEntropy(losses, probs, logits, targets, N, V);
  }
  protected crossEntropyRowsBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, dloss: number, N: number, V: number): void {
    this.k.crossEntropyBackward(dlogits, probs, targets, dloss, N, V);
  }
  protected adamwStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, t: number, gradScale: number): void {
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
