/** A one-line progress bar on a terminal; plain log lines when output is not a terminal. */
export class Progress {
  private readonly tty: boolean;
  private lastLine = '';

  constructor(private readonly total: number, private readonly stream: NodeJS.WriteStream = process.stderr, private readonly logEvery = 1) {
    this.tty = !!stream.isTTY;
  }

  update(iter: number, fields: string, msPerIter: number): void {
    const left = Math.max(0, this.total - iter) * msPerIter;
    const pct = this.total > 0 ? iter / this.total : 1;
    const width = 24;
    const filled = Math.round(pct * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const line = `iter ${iter}/${this.total} [${bar}] ${fields} | ${msPerIter.toFixed(1)} ms/iter | ${formatDuration(left)} left`;
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${line}`);
      this.lastLine = line;
    } else if (iter % this.logEvery === 0 || iter === this.total) {
      this.stream.write(line + '\n');
    }
  }

  /** Prints a message above the bar. */
  log(message: string): void {
    if (this.tty && this.lastLine) this.stream.write(`\r\x1b[2K${message}\n${this.lastLine}`);
    else this.stream.write(message + '\n');
  }

  done(): void {
    if (this.tty && this.lastLine) this.stream.write('\n');
    this.lastLine = '';
  }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Bytes as a person reads them: 1.5 MB, 2.00 GB. */
export function formatBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/**
 * Progress through a known number of bytes: a bar redrawn at most every intervalMs on a
 * terminal; otherwise a line at each tenth of the way (so logs stay short).
 */
export class ByteProgress {
  private readonly tty: boolean;
  private readonly start = performance.now();
  private lastDraw = 0;
  private lastTenth = -1;
  private drawn = false;

  constructor(private readonly label: string, private readonly total: number,
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr, private readonly intervalMs = 250) {
    this.tty = !!stream.isTTY;
  }

  line(done: number): string {
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const secs = (performance.now() - this.start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const left = rate > 0 ? ((this.total - done) / rate) * 1000 : 0;
    return `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ` +
      `${formatBytes(done)} / ${formatBytes(this.total)}, ${formatBytes(Math.round(rate))}/s, ${formatDuration(left)} left`;
  }

  update(done: number): void {
    if (this.tty) {
      const now = performance.now();
      if (now - this.lastDraw < this.intervalMs && done < this.total) return;
      this.lastDraw = now;
      this.stream.write(`\r\x1b[2K${this.line(done)}`);
      this.drawn = true;
      return;
    }
    const tenth = this.total > 0 ? Math.floor((10 * done) / this.total) : 10;
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.stream.write(this.line(done) + '\n');
    }
  }

  done(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
