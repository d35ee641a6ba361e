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
