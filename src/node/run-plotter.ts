import { Worker } from 'node:worker_threads';

/**
 * Keeps out_dir/loss.svg up to date during training. The drawing runs on a worker thread: it
 * does not slow the training steps, and it happens even while the training loop holds the main
 * thread (the file is written a few tenths of a second after each request). A plot that fails
 * never stops a run: its errors are handed back by close().
 */
export class RunPlotter {
  private readonly errors = new Set<string>();
  private closed?: Promise<void>;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: { error?: string }) => { if (m.error) this.errors.add(m.error); });
    worker.on('error', (e) => this.errors.add(e.message));
    // a plot must never keep the process alive
    worker.unref();
  }

  /** Starts the thread and waits until it listens; when it cannot start, says why. */
  static async start(outDir: string): Promise<RunPlotter | { failed: string }> {
    const worker = new Worker(new URL('./plot-worker.js', import.meta.url), { workerData: { outDir } });
    try {
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
    } catch (e) {
      void worker.terminate();
      return { failed: (e as Error).message };
    }
    return new RunPlotter(worker);
  }

  /** Asks for a redraw from out_dir/metrics.jsonl as it is now (call it after the record is written). */
  draw(): void {
    if (!this.closed) this.worker.postMessage({ draw: true });
  }

  /** Waits for the drawings asked for, stops the thread, and returns the errors seen (none: []). */
  async close(timeoutMs = 30000): Promise<string[]> {
    this.closed ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.worker.ref();
      this.worker.on('message', (m: { closed?: boolean }) => {
        if (m.closed) { clearTimeout(timer); resolve(); }
      });
      this.worker.once('exit', () => { clearTimeout(timer); resolve(); });
      this.worker.postMessage({ close: true });
    });
    await this.closed;
    await this.worker.terminate();
    return [...this.errors];
  }
}
