import type { Program } from './program.js';
import { BufferUsage } from './usage.js';

/** A storage binding: a whole buffer, or a range of one (an upload in the ids arena). */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };
/** What a dispatch binds: buffers, or host ints (token ids, targets) that it uploads. */
export type Bindable = GPUBuffer | Int32Array;

/** Where the stream gets scratch buffers (for copies of aliased inputs). */
export interface ScratchSource {
  scratch(bytes: number): GPUBuffer;
  release(buf: GPUBuffer): void;
}

const ARENA_SLOTS = 256; // dispatches per submission (the uniform arena has a slot for each)
const IDS_ARENA_BYTES = 1 << 20;

/**
 * The queue side of the backend: kernels are recorded into one command encoder (one compute
 * pass, ended only for copies) and submitted when a read needs the results, a write must land
 * after them, or ARENA_SLOTS dispatches have piled up. Nothing here waits on the GPU.
 *
 * Uniform parameters and host int arrays (token ids, targets) are packed into two arenas on the
 * host and written to the GPU just before the submission that uses them: queue writes and
 * submissions run in queue order, so one pair of arena buffers serves every submission.
 */
export class CommandStream {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Buffers the recorded, unsubmitted commands use. */
  private readonly used = new Set<GPUBuffer>();
  private readonly slot: number;
  private readonly idsAlign: number;
  private readonly paramHost: ArrayBuffer;
  private readonly paramView: DataView;
  private readonly paramGpu: GPUBuffer;
  private slots = 0;
  private idsHost: Int32Array;
  private idsGpu: GPUBuffer;
  private idsUsed = 0; // bytes
  private readonly destroyAfterSubmit: GPUBuffer[] = [];
  /** Dispatches recorded since the stream was made (for tests and stats). */
  dispatches = 0;
  submissions = 0;

  constructor(private readonly device: GPUDevice, private readonly scratch: ScratchSource) {
    this.slot = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.idsAlign = Math.max(256, device.limits.minStorageBufferOffsetAlignment);
    this.paramHost = new ArrayBuffer(this.slot * ARENA_SLOTS);
    this.paramView = new DataView(this.paramHost);
    this.paramGpu = device.createBuffer({ label: 'params', size: this.paramHost.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    this.idsHost = new Int32Array(IDS_ARENA_BYTES / 4);
    this.idsGpu = this.idsBuffer(IDS_ARENA_BYTES);
  }

  /** Whether recorded, unsubmitted commands use buf (a write to it must wait for them). */
  uses(buf: GPUBuffer): boolean {
    return this.used.has(buf);
  }

  /**
   * Records one dispatch: params packed as the program declares them, buffers bound in its
   * order, host ints uploaded into the ids arena. A read-only input that is also bound
   * read-write (an in-place call such as addBroadcast(a, a, b)) is read from a copy, since
   * WebGPU forbids binding it twice.
   */
  dispatch(program: Program, bindables: Bindable[], params: number[], groups: [number, number?, number?]): void {
    const { spec } = program;
    if (bindables.length !== spec.buffers.length) throw new Error(`${spec.name}: ${bindables.length} buffers given, the program binds ${spec.buffers.length}`);
    if (params.length !== spec.params.length) throw new Error(`${spec.name}: ${params.length} params given, the program takes ${spec.params.length}`);
    // submit first when this dispatch's params or ids would not fit: both arenas then start empty
    const idsBytes = bindables.reduce((sum, b) => sum + (b instanceof Int32Array ? this.idsSpan(b.length) : 0), 0);
    if (this.slots === ARENA_SLOTS || this.idsStart() + idsBytes > this.idsGpu.size) this.flush();
    if (idsBytes > this.idsGpu.size) this.growIds(idsBytes);
    const buffers = bindables.map((b) => (b instanceof Int32Array ? this.uploadInts(b) : b));
    const written = new Set<GPUBuffer>();
    spec.buffers.forEach(([, access], i) => {
      if (access === 'rw') {
        const b = bufferOf(buffers[i]);
        if (written.has(b)) throw new Error(`${spec.name}: the same buffer is bound to two outputs`);
        written.add(b);
      }
    });
    const copies: GPUBuffer[] = [];
    const bound = buffers.map((b, i) => {
      if (spec.buffers[i][1] === 'rw' || !written.has(bufferOf(b))) return b;
      const src = bufferOf(b);
      const copy = this.scratch.scratch(src.size);
      this.copy(src, copy, src.size);
      copies.push(copy);
      return copy;
    });

    const offset = this.slots++ * this.slot;
    spec.params.forEach(([name, type], i) => {
      const v = params[i], at = offset + 4 * i;
      if (type === 'f32') this.paramView.setFloat32(at, v, true);
      else if (type === 'i32') this.paramView.setInt32(at, v, true);
      else {
        if (!(v >= 0 && v <= 0xffffffff && Number.isInteger(v))) throw new Error(`${spec.name}: param ${name} must be a u32, got ${v}`);
        this.paramView.setUint32(at, v, true);
      }
    });
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.paramGpu, offset, size: program.paramBytes } }];
    bound.forEach((b, i) => {
      entries.push({ binding: i + 1, resource: 'buffer' in b ? b : { buffer: b } });
      this.used.add(bufferOf(b));
    });
    const pass = this.computePass();
    pass.setPipeline(program.pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: program.layout, entries }));
    pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
    this.dispatches++;
    // the copies go back to the pool now: later commands that reuse them run after this one
    for (const c of copies) this.scratch.release(c);
  }

  /** Where the next upload starts in the ids arena (uploads start at binding-offset alignment). */
  private idsStart(): number {
    return Math.ceil(this.idsUsed / this.idsAlign) * this.idsAlign;
  }

  /** Arena bytes n ints take. */
  private idsSpan(n: number): number {
    return Math.ceil(Math.max(4, n * 4) / this.idsAlign) * this.idsAlign;
  }

  /** Replaces the (empty) ids arena with one of at least bytes. */
  private growIds(bytes: number): void {
    this.destroyLater(this.idsGpu);
    const size = Math.ceil(bytes / IDS_ARENA_BYTES) * IDS_ARENA_BYTES;
    this.idsGpu = this.idsBuffer(size);
    this.idsHost = new Int32Array(size / 4);
  }

  /** Places host ints in the ids arena (dispatch has made room); the binding reads them there. */
  private uploadInts(values: Int32Array): Binding {
    const at = this.idsStart();
    this.idsHost.set(values, at / 4);
    this.idsUsed = at + Math.max(4, values.length * 4);
    return { buffer: this.idsGpu, offset: at, size: Math.max(4, values.length * 4) };
  }

  /** Records a buffer-to-buffer copy (bytes a multiple of 4). */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.used.add(src);
    this.used.add(dst);
  }

  /** Destroys buf once the commands recorded so far are submitted (they may still use it). */
  destroyLater(buf: GPUBuffer): void {
    if (this.used.has(buf)) this.destroyAfterSubmit.push(buf);
    else buf.destroy();
  }

  /** Submits what is recorded (with the arenas it reads). */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    const queue = this.device.queue;
    if (this.slots) queue.writeBuffer(this.paramGpu, 0, this.paramHost, 0, this.slots * this.slot);
    if (this.idsUsed) queue.writeBuffer(this.idsGpu, 0, this.idsHost.buffer, 0, Math.ceil(this.idsUsed / 4) * 4);
    queue.submit([this.encoder.finish()]);
    this.submissions++;
    this.encoder = null;
    this.slots = 0;
    this.idsUsed = 0;
    this.used.clear();
    for (const b of this.destroyAfterSubmit.splice(0)) b.destroy();
  }

  private idsBuffer(size: number): GPUBuffer {
    return this.device.createBuffer({ label: 'ids', size, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
  }

  private commandEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private computePass(): GPUComputePassEncoder {
    return (this.pass ??= this.commandEncoder().beginComputePass());
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}

function bufferOf(b: Binding): GPUBuffer {
  return 'buffer' in b ? b.buffer : b;
}
