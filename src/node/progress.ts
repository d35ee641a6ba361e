import { formatDuration } from '../train/metrics.js';

export { formatDuration };

export interface ProgressOptions {
  /** Where the lines go (default: standard error). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Off a terminal, a line every this many units (and at the last one). */
  logEvery?: number;
  /** Only log() messages: no progress lines, no info(). */
  quiet?: boolean;
  /** The word before the counter ("iter", "merge"), also in "ms/iter". */
  unit?: string;
  /** Writes the counter instead of "UNIT done/total" (e.g. "3.1M/12.0M characters"). */
  counter?: (done: number, total: number) => string;
  /** The count this progress starts from (a resumed run's iteration). */
  from?: number;
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
  private readonly counter: (done: number, total: number) => string;
  private readonly startMs = performance.now();
  private lastLine = '';
  private lastDraw = -Infinity; // the first update always draws
  private lastLogged: number;
  private readonly from: number;

  constructor(private readonly total: number, opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = !!(opts.stream ?? process.stderr).isTTY;
    this.logEvery = Math.max(1, Math.floor(opts.logEvery ?? 1));
    this.quiet = opts.quiet ?? false;
    this.unit = opts.unit ?? 'iter';
    this.counter = opts.counter ?? ((done, total) => `${this.unit} ${done}/${total}`);
    this.from = this.lastLogged = opts.from ?? 0;
  }

  /**
   * `done` of `total` units; `fields` such as "loss 2.4567". The time left comes from
   * `msPerUnit` when given (and is shown as a rate), else from the average so far.
   */
  update(done: number, fields: string, msPerUnit?: number): void {
    if (this.quiet) return;
    const perUnit = msPerUnit ?? (done > this.from ? (performance.now() - this.startMs) / (done - this.from) : NaN);
    const left = Number.isFinite(perUnit) ? `${formatDuration(Math.max(0, this.total - done) * perUnit)} left` : '';
    const rate = msPerUnit === undefined ? '' : `${msPerUnit >= 100 ? msPerUnit.toFixed(0) : msPerUnit.toFixed(1)} ms/${this.unit}`;
    if (this.tty) {
      const now = performance.now();
      if (done !== this.total && now - this.lastDraw < 1000 / TTY_REDRAWS_PER_SECOND) return;
      this.lastDraw = now;
      const pct = this.total > 0 ? Math.min(1, done / this.total) : 1;
      const width = 24;
      const filled = Math.round(pct * width);
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      this.lastLine = [`${this.counter(done, this.total)} [${bar}] ${fields}`, rate, left].filter(Boolean).join(' | ');
      this.stream.write(`\r\x1b[2K${this.lastLine}`);
    } else if (Math.floor(done / this.logEvery) > Math.floor(this.lastLogged / this.logEvery) || (done === this.total && this.lastLogged !== done)) {
      // a line each time the count passes a multiple of logEvery (steps of one land on each multiple)
      this.lastLogged = done;
      this.stream.write([`${this.counter(done, this.total)}: ${fields}`, rate, left].filter(Boolean).join(', ') + '\n');
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
