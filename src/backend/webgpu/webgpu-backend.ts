import type { Backend } from '../backend.js';
import { DeviceError } from '../../errors.js';
import { WebGpuKernels } from './kernels.js';
import { BufferPool, sizeClass } from './pool.js';
import { ProgramCache, type ProgramSpec } from './program.js';
import { type Bindable, CommandStream } from './stream.js';
import { BufferUsage, MAP_MODE_READ } from './usage.js';

export interface WebGpuBackendOptions {
  /** How the adapter is named in messages and `yorick info` (default: from device.adapterInfo). */
  adapter?: string;
  /** Bytes of freed buffers kept for reuse (default 1 GiB). */
  poolBytes?: number;
}

const MIB = 1024 * 1024;

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(bytes < MIB ? 3 : 1)} MiB`;
}

/**
 * The WebGPU backend: buffers are GPUBuffers of float32 on one GPUDevice, kernels are WGSL
 * dispatches recorded into a command stream that is submitted only when a read needs results
 * (or every 256 dispatches). Freed buffers go to a pool by size class, so the steps of a
 * training run reuse the same buffers. There is no synchronous read.
 *
 * Failures are sticky: a lost device, an allocation the GPU could not satisfy, or a WebGPU
 * validation error makes every later call throw a DeviceError naming the device.
 */
export class WebGpuBackend extends WebGpuKernels implements Backend<GPUBuffer> {
  readonly name = 'webgpu';
  /** The adapter, in words (vendor, architecture, description). */
  readonly adapter: string;
  private readonly programs: ProgramCache;
  private readonly stream: CommandStream;
  private readonly pool: BufferPool;
  private readonly staging = new BufferPool(256 * MIB);
  /** Floats asked for at alloc, per live buffer. */
  private readonly lengths = new WeakMap<GPUBuffer, number>();
  private readonly maxBytes: number;
  private failure: DeviceError | null = null;
  private created = 0;
  protected readonly nullIn: GPUBuffer;
  protected readonly nullOut: GPUBuffer;

  constructor(readonly device: GPUDevice, opts: WebGpuBackendOptions = {}) {
    super();
    this.adapter = opts.adapter ?? describeAdapter(device.adapterInfo);
    this.maxBytes = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    this.pool = new BufferPool(opts.poolBytes ?? 1024 * MIB);
    this.programs = new ProgramCache(device);
    this.stream = new CommandStream(device, {
      scratch: (bytes) => this.alloc(bytes / 4, false),
      release: (buf) => this.free(buf),
    });
    this.nullIn = this.alloc(4);
    this.nullOut = this.alloc(4);
    void device.lost.then((info) => {
      this.fail(info.reason === 'destroyed' ? 'the device was destroyed' : `the device was lost (${info.reason}): ${info.message}`);
    });
    device.addEventListener('uncapturederror', (event) => {
      const e = (event as GPUUncapturedErrorEvent).error;
      this.fail(`${e.constructor?.name ?? 'error'}: ${e.message}`);
    });
  }

  /** Kernels recorded and submissions made so far. */
  get stats(): { dispatches: number; submissions: number; buffersCreated: number; pooledBytes: number } {
    return { dispatches: this.stream.dispatches, submissions: this.stream.submissions, buffersCreated: this.created, pooledBytes: this.pool.pooledBytes };
  }

  alloc(n: number, zero = true): GPUBuffer {
    this.check();
    if (!(Number.isInteger(n) && n >= 0)) throw new Error(`webgpu alloc: n must be a non-negative integer, got ${n}`);
    const bytes = Math.max(n, 4) * 4;
    if (bytes > this.maxBytes) {
      throw new DeviceError('webgpu', `webgpu (${this.adapter}): a buffer of ${n} floats (${mib(bytes)}) is larger than this device allows (${mib(this.maxBytes)} per buffer)`);
    }
    const size = Math.min(sizeClass(bytes), Math.floor(this.maxBytes / 4) * 4);
    let buf = this.pool.take(size);
    if (buf) {
      if (zero) this.fill(buf, 0, n);
    } else {
      buf = this.create(size, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST, n); // created zeroed
    }
    this.lengths.set(buf, n);
    return buf;
  }

  free(buf: GPUBuffer): void {
    if (!this.lengths.delete(buf)) throw new Error('webgpu free: the buffer is not a live buffer of this backend (freed twice?)');
    if (!this.pool.give(buf)) this.stream.destroyLater(buf);
  }

  write(buf: GPUBuffer, src: Float32Array, offset = 0): void {
    this.check();
    const n = this.lengthOf(buf);
    if (offset < 0 || offset + src.length > n) throw new Error(`write of ${src.length} values at ${offset} into a buffer of ${n}`);
    if (src.length === 0) return;
    // queue writes run before commands still unsubmitted: submit those first if they use buf
    if (this.stream.uses(buf)) this.stream.flush();
    this.device.queue.writeBuffer(buf, offset * 4, src.buffer, src.byteOffset, src.byteLength);
  }

  async read(buf: GPUBuffer, n: number): Promise<Float32Array> {
    this.check();
    const len = this.lengthOf(buf);
    if (!(n >= 0 && n <= len)) throw new Error(`read of ${n} values from a buffer of ${len}`);
    if (n === 0) return new Float32Array(0);
    const bytes = n * 4;
    const size = sizeClass(bytes);
    const staging = this.staging.take(size) ?? this.create(size, BufferUsage.MAP_READ | BufferUsage.COPY_DST, n);
    this.stream.copy(buf, staging, bytes);
    this.stream.flush();
    try {
      await staging.mapAsync(MAP_MODE_READ, 0, bytes);
    } catch (e) {
      this.check();
      throw new DeviceError('webgpu', `webgpu (${this.adapter}): reading ${n} values failed: ${(e as Error).message}`);
    }
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    if (!this.staging.give(staging)) staging.destroy();
    this.check();
    return out;
  }

  /** Waits until the GPU has run everything recorded so far (for timing; reads wait anyway). */
  async sync(): Promise<void> {
    this.stream.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  /** Frees the pooled buffers and the device; the backend is unusable afterwards. */
  destroy(): void {
    this.stream.flush();
    for (const b of [...this.pool.drain(), ...this.staging.drain()]) b.destroy();
    this.failure ??= new DeviceError('webgpu', `webgpu (${this.adapter}): the backend was destroyed`);
    this.device.destroy();
  }

  // ---- what WebGpuKernels needs

  protected run(spec: ProgramSpec, buffers: Bindable[], params: number[], groups: [number, number?]): void {
    this.check();
    this.stream.dispatch(this.programs.get(spec), buffers, params, groups);
  }

  protected scratch(n: number): GPUBuffer {
    return this.alloc(n, false);
  }

  protected release(buf: GPUBuffer): void {
    this.free(buf);
  }

  protected lengthOf(buf: GPUBuffer): number {
    const n = this.lengths.get(buf);
    if (n === undefined) throw new Error('webgpu: the buffer is not a live buffer of this backend (freed, or from another backend)');
    return n;
  }

  // ----

  /** A new buffer, watching for the GPU running out of memory. */
  private create(size: number, usage: number, n: number): GPUBuffer {
    this.created++;
    this.device.pushErrorScope('out-of-memory');
    const buf = this.device.createBuffer({ size, usage });
    void this.device.popErrorScope().then((err) => {
      if (err) this.fail(`out of memory allocating a buffer of ${n} floats (${mib(size)}): ${err.message}`);
    });
    return buf;
  }

  private fail(why: string): void {
    this.failure ??= new DeviceError('webgpu', `webgpu (${this.adapter}): ${why}`);
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }
}

/** An adapter in words: "vendor architecture (description)", from what the adapter tells. */
export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown adapter';
  const parts = [info.vendor, info.architecture, info.device].filter((s) => s && s.length > 0);
  const name = parts.join(' ') || 'unnamed adapter';
  return info.description ? `${name} (${info.description})` : name;
}
