import { formatDuration } from '../train/metrics.js';

export { formatDuration };

export interface ProgressOptions {
  /** Where the lines go (default: standard error). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Off a terminal, a line every this many units (and at the last one). */
  logEvery?: number;
  /** Only log() messages: no progress lines, no info(). */
  quiet?: boolean;
  /** The word before the counter ("iter", "merge", "chunk"). */
  unit?: string;
}

/** At most this many redraws a second of the live line: a terminal need not repaint per step. */
const TTY_REDRAWS_PER_SECOND = 10;

/**
 * Progress for a terminal and for a file. On a terminal: one live line (a bar, the fields, the
 * time left) with messages printed above it. Off a terminal (a pipe, a log file): a plain line
 * every `logEvery` units and at the last one, so a log of 2,000 iterations at log_interval 10
 * holds 200 progress lines, not 2,000 redraws.
 */
export class Progress {
  private readonly tty: boolean;
  private readonly stream: NodeJS.WritableStream;
  private readonly logEvery: number;
  private readonly quiet: boolean;
  private readonly unit: string;
  private lastLine = '';
  private lastDraw = 0;

  constructor(private readonly total: number, opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = !!(opts.stream ?? process.stderr).isTTY;
    this.logEvery = Math.max(1, Math.floor(opts.logEvery ?? 1));
    this.quiet = opts.quiet ?? false;
    this.unit = opts.unit ?? 'iter';
  }

  /** `done` of `total` units; `fields` such as "loss 2.4567"; `msPerUnit` for the time left. */
  update(done: number, fields: string, msPerUnit: number): void {
    if (this.quiet) return;
    const left = formatDuration(Math.max(0, this.total - done) * msPerUnit);
    const rate = msPerUnit >= 100 || !Number.isFinite(msPerUnit) ? msPerUnit.toFixed(0) : msPerUnit.toFixed(1);
    if (this.tty) {
      const now = performance.now();
      if (done !== this.total && now - this.lastDraw < 1000 / TTY_REDRAWS_PER_SECOND) return;
      this.lastDraw = now;
      const pct = this.total > 0 ? Math.min(1, done / this.total) : 1;
      const width = 24;
      const filled = Math.round(pct * width);
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      this.lastLine = `${this.unit} ${done}/${this.total} [${bar}] ${fields} | ${rate} ms/${this.unit} | ${left} left`;
      this.stream.write(`\r\x1b[2K${this.lastLine}`);
    } else if (done % this.logEvery === 0 || done === this.total) {
      this.stream.write(`${this.unit} ${done}/${this.total}: ${fields}, ${rate} ms/${this.unit}, ${left} left\n`);
    }
  }

  /** A message above the live line, printed even when quiet (evaluations). */
  log(message: string): void {
    if (this.tty && this.lastLine) this.stream.write(`\r\x1b[2K${message}\n${this.lastLine}`);
    else this.stream.write(message + '\n');
  }

  /** A message above the live line, left out when quiet (saves, notes). */
  info(message: string): void {
    if (!this.quiet) this.log(message);
  }

  /** Ends the live line. */
  done(): void {
    if (this.tty && this.lastLine) this.stream.write('\n');
    this.lastLine = '';
  }
}
