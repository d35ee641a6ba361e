/**
 * A persistent pool of worker threads running the same kernel module on the same shared memory.
 * No Node imports: a Web Worker runs workerLoop just as a worker_thread does.
 *
 * Protocol over one SharedArrayBuffer: the caller writes a kernel index and its arguments,
 * bumps GEN and notifies; each worker runs its part, bumps DONE, and the last one notifies.
 * The caller runs part 0 itself meanwhile. Workers spin briefly before sleeping, since the next
 * kernel usually follows within microseconds and waking a sleeping thread costs 10-15 us.
 */
import { parallelKernels, type PartKernel } from './kernels.js';

const GEN = 0, DONE = 1, FN = 2, NARGS = 3, NPARTS = 4, STOP = 5, ERROR = 6;
const ARGS_BYTE_OFFSET = 64;
const MAX_ARGS = 24;
export const CONTROL_BYTES = ARGS_BYTE_OFFSET + MAX_ARGS * 8;

/** Polls before sleeping: about 50-100 us of spinning. */
const SPIN = 20000;

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  /** Threads in all, the caller included. */
  readonly threads: number;

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

  /** Runs kernel(...args, part, threads) for every part, part 0 here; returns when all are done. */
  run(name: (typeof parallelKernels)[number], kernel: PartKernel, args: number[]): void {
    const ctl = this.ctl, n = this.threads;
    if (args.length > MAX_ARGS) throw new Error(`${name}: ${args.length} arguments, the pool passes at most ${MAX_ARGS}`);
    for (let i = 0; i < args.length; i++) this.args[i] = args[i];
    ctl[FN] = parallelKernels.indexOf(name);
    ctl[NARGS] = args.length;
    ctl[NPARTS] = n;
    Atomics.store(ctl, DONE, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    let failure: unknown = null;
    try {
      kernel(...args, 0, n);
    } catch (e) {
      failure = e;
    }
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done === this.workers) break;
      if (++spins > SPIN && this.canWait) Atomics.wait(ctl, DONE, done, 100);
    }
    if (failure) throw failure;
    if (Atomics.load(ctl, ERROR)) {
      Atomics.store(ctl, ERROR, 0);
      throw new Error(`kernel ${name} failed on a worker thread`);
    }
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
 * A worker's life: wait for a job, run its part, report, repeat until stopped.
 * kernels: the module's exports on this thread; part: this worker's part (1..workers).
 */
export function workerLoop(control: SharedArrayBuffer, exports: WebAssembly.Exports, part: number, workers: number): void {
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
    const n = ctl[NPARTS];
    if (part < n) {
      try {
        const args = Array.from(argv.subarray(0, ctl[NARGS]));
        kernels[ctl[FN]](...args, part, n);
      } catch {
        Atomics.store(ctl, ERROR, 1);
      }
    }
    if (Atomics.add(ctl, DONE, 1) + 1 === workers) Atomics.notify(ctl, DONE);
  }
}
