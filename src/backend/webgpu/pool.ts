/**
 * Freed GPU buffers kept by size class, so the activations of one training step reuse the
 * buffers of the step before instead of asking the driver each time. Size classes are
 * powers of two split in four (a buffer is at most ~19% larger than asked), 256 bytes at least.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const pow = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = pow / 4;
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Bytes held in the pool (not in use). */
  pooledBytes = 0;

  /** maxBytes: the pool keeps at most this much; beyond it freed buffers are destroyed. */
  constructor(private readonly maxBytes: number) {}

  /** A pooled buffer of this size class, or null. */
  take(size: number): GPUBuffer | null {
    const list = this.free.get(size);
    const buf = list?.pop() ?? null;
    if (buf) this.pooledBytes -= size;
    return buf;
  }

  /** Keeps buf for reuse; returns false (the caller destroys it) when the pool is full. */
  give(buf: GPUBuffer): boolean {
    if (this.pooledBytes + buf.size > this.maxBytes) return false;
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, (list = []));
    list.push(buf);
    this.pooledBytes += buf.size;
    return true;
  }

  /** Empties the pool, returning the buffers (for the caller to destroy). */
  drain(): GPUBuffer[] {
    const all = [...this.free.values()].flat();
    this.free.clear();
    this.pooledBytes = 0;
    return all;
  }
}
