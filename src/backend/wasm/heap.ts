/**
 * The WebAssembly backend's allocator: hands out 64-byte aligned blocks of one
 * WebAssembly.Memory as Float32Array views, so kernels take byte offsets and nothing is copied.
 *
 * Freed blocks go to free lists by exact size: a training step allocates the same sizes every
 * step, so after the first one every request is met from a list and memory stays flat. When a
 * request would grow memory, free blocks are first coalesced and the smallest one that fits is
 * split (sampling with a growing context asks for ever new sizes).
 */
const ALIGN = 64;
const PAGE = 65536;

export class WasmHeap {
  /** Bytes below top are blocks (live or free); above is untouched. */
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private freeBytes = 0;
  /** Live blocks by offset: the view handed out (so foreign arrays are never freed) and its size. */
  private readonly live = new Map<number, { view: Float32Array; bytes: number }>();
  /** Every buffer object memory.buffer has returned (a shared memory gives a new one per growth). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  /** Highest top seen, in bytes: the heap's peak footprint. */
  peakBytes = 0;

  constructor(readonly memory: WebAssembly.Memory, base: number, private readonly zero: (p: number, n: number) => void) {
    this.top = roundUp(base, ALIGN);
    this.buffers.add(memory.buffer);
  }

  /** True when buf is a view of this memory (else a kernel must copy it in). */
  owns(buf: ArrayBufferView): boolean {
    return this.buffers.has(buf.buffer);
  }

  /** A block of n floats, zero-filled unless zero is false. */
  alloc(n: number, zero = true): Float32Array {
    const bytes = Math.max(ALIGN, roundUp(n * 4, ALIGN));
    const off = this.take(bytes);
    if (zero) this.zero(off, bytes);
    const view = new Float32Array(this.memory.buffer, off, n);
    this.live.set(off, { view, bytes });
    return view;
  }

  /** Releases a block alloc() returned; anything else (a JS array, a subarray view) is ignored. */
  free(buf: Float32Array): boolean {
    const block = this.live.get(buf.byteOffset);
    if (!block || block.view !== buf) return false;
    this.live.delete(buf.byteOffset);
    this.release(buf.byteOffset, block.bytes);
    return true;
  }

  /** Scratch space that is not zero-filled and not tracked as a view: release with freeScratch. */
  allocScratch(bytes: number): number {
    return this.take(Math.max(ALIGN, roundUp(bytes, ALIGN)));
  }

  freeScratch(off: number, bytes: number): void {
    this.release(off, Math.max(ALIGN, roundUp(bytes, ALIGN)));
  }

  get liveBlocks(): number {
    return this.live.size;
  }

  /** Bytes in blocks (live or free) below the top. */
  get usedBytes(): number {
    return this.top;
  }

  private release(off: number, bytes: number): void {
    let list = this.freeLists.get(bytes);
    if (!list) this.freeLists.set(bytes, (list = []));
    list.push(off);
    this.freeBytes += bytes;
  }

  private take(bytes: number): number {
    const list = this.freeLists.get(bytes);
    if (list && list.length > 0) {
      this.freeBytes -= bytes;
      return list.pop()!;
    }
    if (this.top + bytes > this.memory.buffer.byteLength && this.freeBytes >= bytes) {
      this.coalesce();
      const fit = this.bestFit(bytes);
      if (fit >= 0) return fit;
    }
    const off = this.top;
    this.top += bytes;
    this.ensure(this.top);
    this.peakBytes = Math.max(this.peakBytes, this.top);
    return off;
  }

  /** Merges adjacent free blocks; a free run that ends at the top lowers the top. */
  private coalesce(): void {
    const blocks: [number, number][] = [];
    for (const [bytes, list] of this.freeLists) for (const off of list) blocks.push([off, bytes]);
    blocks.sort((a, b) => a[0] - b[0]);
    this.freeLists.clear();
    this.freeBytes = 0;
    const merged: [number, number][] = [];
    for (const [off, bytes] of blocks) {
      const last = merged[merged.length - 1];
      if (last && last[0] + last[1] === off) last[1] += bytes;
      else merged.push([off, bytes]);
    }
    const last = merged[merged.length - 1];
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      merged.pop();
    }
    for (const [off, bytes] of merged) this.release(off, bytes);
  }

  /** Takes the smallest free block of at least `bytes`, returning the rest to the lists; -1 if none. */
  private bestFit(bytes: number): number {
    let best = -1;
    for (const [size, list] of this.freeLists) if (size >= bytes && list.length > 0 && (best < 0 || size < best)) best = size;
    if (best < 0) return -1;
    const off = this.freeLists.get(best)!.pop()!;
    this.freeBytes -= best;
    if (best > bytes) this.release(off + bytes, best - bytes);
    return off;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    if (typeof SharedArrayBuffer === 'undefined' || !(this.memory.buffer instanceof SharedArrayBuffer)) {
      throw new Error(`wasm backend out of memory: ${end} bytes needed, ${have} reserved (an unshared memory cannot grow without detaching the buffers handed out; create the backend with more pages)`);
    }
    // grow by at least a quarter, so growing stays rare
    const want = Math.max(end, have + (have >> 2));
    this.memory.grow(Math.ceil((want - have) / PAGE));
    this.buffers.add(this.memory.buffer);
  }
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}
