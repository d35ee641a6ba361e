/**
 * A persistent pool of worker threads running the same kernel module on the same shared memory.
 * No Node imports: a Web Worker runs workerLoop just as a worker_thread does.
 *
 * A job is a kernel cut into chunks (kernel(...args, chunk, nchunks, thread)); every thread, the
 * caller included, claims chunks until none is left, so a worker that the OS has descheduled
 * (2 cores shared with other programs) delays a kernel by one chunk at most, not by its share.
 * A chunk's output does not depend on who runs it, so results do not depend on the timing.
 *
 * Control block (Int32 words) then the arguments (float64):
 * - GEN: the job number, bumped (and notified) to start a job;
 * - CLAIM: (job number mod 2^15) << 16 | next unclaimed chunk, claimed by compare-and-swap, so a
 *   worker that wakes late cannot claim a chunk of a later job with the earlier job's arguments;
 * - DONE: chunks finished; the thread that finishes the last one notifies.
 * Workers spin briefly before sleeping: the next kernel usually follows within microseconds, and
 * waking a sleeping thread costs 10-15 us.
 */
import { parallelKernels, type PartKernel } from './kernels.js';

const GEN = 0, CLAIM = 1, DONE = 2, FN = 3, NARGS = 4, NCHUNKS = 5, STOP = 6, ERROR = 7;
const ARGS_BYTE_OFFSET = 64;
const MAX_ARGS = 24;
export const CONTROL_BYTES = ARGS_BYTE_OFFSET + MAX_ARGS * 8;

/** Polls before sleeping: some tens of microseconds. */
const SPIN = 20000;

/** Claims and runs chunks of the current job (tag) until none is left; false if a chunk threw. */
function runChunks(ctl: Int32Array, tag: number, nchunks: number, kernel: PartKernel, args: number[], thread: number): boolean {
  let ok = true;
  for (;;) {
    const v = Atomics.load(ctl, CLAIM);
    if (v >>> 16 !== tag) return ok;
    const chunk = v & 0xffff;
    if (chunk >= nchunks) return ok;
    if (Atomics.compareExchange(ctl, CLAIM, v, v + 1) !== v) continue;
    try {
      kernel(...args, chunk, nchunks, thread);
    } catch {
      ok = false;
    }
    if (Atomics.add(ctl, DONE, 1) + 1 === nchunks) Atomics.notify(ctl, DONE);
  }
}

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  /** Threads in all, the caller included. */
  readonly threads: number;
  private gen = 0;

  /**
   * workers: the number of workers (threads - 1), already running workerLoop on `control`.
   * canWait: whether this thread may block in Atomics.wait (not a browser's main thread).
   */
  constructor(readonly control: SharedArrayBuffer, readonly workers: number, private readonly canWait: boolean,
    private readonly onStop: () => void) {
    this.ctl = new Int32Array(control, 0, ARGS_BYTE_OFFSET / 4);
    this.args = new Float64Array(control, ARGS_BYTE_OFFSET, MAX_ARGS);
    this.threads = workers + 1;
  }

  /** Runs kernel(...args, chunk, nchunks, thread) for every chunk; returns when all are done. */
  run(name: (typeof parallelKernels)[number], kernel: PartKernel, args: number[], nchunks: number): void {
    const ctl = this.ctl;
    if (args.length > MAX_ARGS) throw new Error(`${name}: ${args.length} arguments, the pool passes at most ${MAX_ARGS}`);
    if (!(nchunks >= 1 && nchunks < 0x10000)) throw new Error(`${name}: ${nchunks} chunks, expected 1 to 65535`);
    for (let i = 0; i < args.length; i++) this.args[i] = args[i];
    ctl[FN] = parallelKernels.indexOf(name);
    ctl[NARGS] = args.length;
    ctl[NCHUNKS] = nchunks;
    this.gen = (this.gen + 1) & 0x7fff;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, CLAIM, this.gen << 16);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    const ok = runChunks(ctl, this.gen, nchunks, kernel, args, 0);
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done === nchunks) break;
      if (++spins > SPIN && this.canWait) Atomics.wait(ctl, DONE, done, 50);
    }
    if (!ok || Atomics.exchange(ctl, ERROR, 0)) throw new Error(`kernel ${name} failed`);
  }

  /** Ends the workers' loops. */
  stop(): void {
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    this.onStop();
  }
}

/**
 * A worker's life: wait for a job, claim and run chunks, repeat until stopped.
 * exports: the kernel module's exports on this thread; thread: this worker's number (1..).
 */
export function workerLoop(control: SharedArrayBuffer, exports: WebAssembly.Exports, thread: number): void {
  const ctl = new Int32Array(control, 0, ARGS_BYTE_OFFSET / 4);
  const argv = new Float64Array(control, ARGS_BYTE_OFFSET, MAX_ARGS);
  const kernels = parallelKernels.map((name) => exports[name] as PartKernel);
  let seen = Atomics.load(ctl, GEN);
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctl, GEN) === seen) {
      if (++spins > SPIN) {
        Atomics.wait(ctl, GEN, seen);
        spins = 0;
      }
    }
    seen = Atomics.load(ctl, GEN);
    if (Atomics.load(ctl, STOP)) return;
    // read the job, then claim: a claim only succeeds while CLAIM carries this job's tag, and the
    // caller writes a job's fields before tagging CLAIM with it
    const tag = Atomics.load(ctl, CLAIM) >>> 16;
    const kernel = kernels[ctl[FN]], nchunks = ctl[NCHUNKS];
    const args = Array.from(argv.subarray(0, ctl[NARGS]));
    if (!runChunks(ctl, tag, nchunks, kernel, args, thread)) Atomics.store(ctl, ERROR, 1);
  }
}
