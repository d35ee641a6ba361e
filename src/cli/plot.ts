import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { PLOT_FILE, readRunMetrics, writeChart } from '../node/plot.js';
import { compareChart, runChart } from '../plot/charts.js';
import { formatDuration, summarize, type RunMetrics } from '../train/metrics.js';
import { parseArgs, takeFlags } from './args.js';

export const plotUsage = `usage: yorick plot DIR... [--out FILE]

Draws the loss of training runs from each DIR/metrics.jsonl (DIR: a yorick train out_dir) and
prints, per run: the best validation loss, its iteration, the iterations run, the wall time and
the median milliseconds per iteration.
  --out FILE   where the chart goes: .svg, or .png (needs the optional @resvg/resvg-js).
               Default: DIR/loss.svg for one run (the same chart training draws), compare.svg
               for several (each run's smoothed train loss and its val estimates, one color a run).`;

/** The names runs go by in the legend: the folders' names, made unique by their parents where they clash. */
export function runNames(dirs: string[]): string[] {
  const short = dirs.map((d) => basename(resolve(d)));
  return dirs.map((d, i) => (short.filter((s) => s === short[i]).length > 1 ? d : short[i]));
}

function table(runs: RunMetrics[]): string {
  const header = ['run', 'best val', 'at iter', 'iters', 'wall', 'ms/iter', 'backend'];
  const rows = runs.map((r) => {
    const s = summarize(r);
    return [r.name, s.bestVal ? s.bestVal.val.toFixed(4) : '-', s.bestVal ? String(s.bestVal.iter) : '-', String(s.iters),
      formatDuration(s.wallMs), s.msPerIter !== undefined ? s.msPerIter.toFixed(1) : '-', r.start?.backend ?? '?'];
  });
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((row) => row[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => (j === 0 || j === cells.length - 1 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export async function plotCommand(argv: string[]): Promise<void> {
  const { flags, positional } = parseArgs(argv);
  if (flags.help) return void console.log(plotUsage);
  const f = takeFlags(flags, ['out'] as const, 'plot');
  if (positional.length === 0) throw new UserError(`yorick plot: give at least one run folder (an out_dir of yorick train)\n\n${plotUsage}`);
  if (f.out === 'true') throw new UserError('yorick plot: --out needs a file name, e.g. --out compare.svg');
  const names = runNames(positional);
  const runs = positional.map((dir, i) => {
    const { run, notes } = readRunMetrics(dir, names[i]);
    for (const n of notes) console.error(`note: ${n}`);
    return run;
  });
  const out = f.out ?? (runs.length === 1 ? join(positional[0], PLOT_FILE) : 'compare.svg');
  if (!/\.(svg|png)$/i.test(out)) throw new UserError(`yorick plot: --out must end in .svg or .png, got ${JSON.stringify(out)}`);
  const spec = runs.length === 1 ? runChart(runs[0]) : compareChart(runs);
  const written = await writeChart(spec, out);
  console.log(table(runs));
  console.log(`wrote ${written.join(', ')}`);
}
