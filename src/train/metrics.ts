/**
 * The metrics log of a training run, out_dir/metrics.jsonl: one JSON object a line, appended
 * as the run goes, read back by plots and `yorick plot`. Records, told apart by their fields:
 *
 *   {"event":"start","iter":0,"init_from":"scratch","backend":"wasm","model":"gpt","params":801408,"config":{...},"time":"..."}
 *       at the start of a run and of each resumption (iter: where it starts)
 *   {"iter":10,"loss":2.4567,"lr":0.001,"ms":12.3,"time":"..."}
 *       after each optimizer step (ms: the step alone, evaluations excluded)
 *   {"iter":250,"train_loss":1.9,"val_loss":2.0,"saved":true,"time":"..."}
 *       after each evaluation (saved: a checkpoint of this iteration is written right after it)
 *   {"event":"end","iter":2000,"best_val_loss":1.88,"wall_ms":93000,"time":"..."}
 *       when a run finishes (absent when it was killed)
 *   {"event":"interrupted","iter":130,"saved":true,"time":"..."}
 *       when Ctrl-C stopped it (saved: a checkpoint of iteration iter was written)
 *
 * Pure: parses text, builds summaries; the files are read and written in src/node and src/cli.
 */

export interface StartRecord {
  event: 'start';
  iter: number;
  init_from: string;
  backend: string;
  model: string;
  params: number;
  config: Record<string, unknown>;
  time: string;
}
export interface StepRecord { iter: number; loss: number; lr: number; ms: number; time?: string }
export interface EvalRecord { iter: number; train_loss: number; val_loss: number; saved: boolean; time?: string }
export interface EndRecord { event: 'end'; iter: number; best_val_loss: number; wall_ms: number; time: string }

/** One run as a plot sees it: a resumed run's overlap with its earlier part is dropped. */
export interface RunMetrics {
  /** A name for legends and tables (the out_dir). */
  name: string;
  /** The latest start record (config, backend), if the log has one. */
  start?: StartRecord;
  steps: StepRecord[];
  evals: EvalRecord[];
  /** Time from each start (or first record) to the last record of its part, summed over resumptions. */
  wallMs: number;
  /** An end record closes the log: the run finished. */
  finished: boolean;
}

export interface RunSummary {
  name: string;
  iters: number;
  bestVal?: { iter: number; val: number; saved: boolean };
  wallMs: number;
  /** Median milliseconds per optimizer step (robust to the slow first steps and to hiccups). */
  msPerIter?: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Parses a metrics.jsonl text. Lines that are not JSON are skipped with a note (the usual one:
 * the last line of a run killed mid-write); records of unknown shape are ignored, so newer
 * fields do not break older readers. `notes` says what was skipped, naming `source`.
 */
export function parseMetrics(text: string, name: string, source = name): { run: RunMetrics; notes: string[] } {
  const run: RunMetrics = { name, steps: [], evals: [], wallMs: 0, finished: false };
  const notes: string[] = [];
  const lines = text.split('\n');
  let segmentStart: number | undefined;
  let segmentLast: number | undefined;
  const closeSegment = () => {
    if (segmentStart !== undefined && segmentLast !== undefined) run.wallMs += Math.max(0, segmentLast - segmentStart);
    segmentStart = segmentLast = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      const last = lines.slice(i + 1).every((l) => l.trim() === '');
      notes.push(last
        ? `${source}: skipped a truncated last line (${line.length} characters; the run was stopped while writing it)`
        : `${source}: skipped line ${i + 1}, which is not JSON: ${JSON.stringify(line.slice(0, 60))}`);
      continue;
    }
    if (!isObject(rec)) continue;
    const t = typeof rec.time === 'string' ? Date.parse(rec.time) : NaN;
    if (rec.event === 'start' && num(rec.iter)) {
      closeSegment();
      const from = rec.iter;
      // a resumption restarts at its checkpoint: what the earlier part logged after it is replaced
      run.steps = run.steps.filter((s) => s.iter < from); // step k (numbered from 0) comes after the checkpoint at k
      run.evals = from > 0 ? run.evals.filter((e) => e.iter <= from) : [];
      if (from === 0) run.wallMs = 0;
      run.start = rec as unknown as StartRecord;
      run.finished = false;
      if (Number.isFinite(t)) segmentStart = segmentLast = t;
      continue;
    }
    if (Number.isFinite(t)) {
      segmentStart ??= t;
      segmentLast = t;
    }
    if (rec.event === 'end') {
      run.finished = true;
    } else if (num(rec.iter) && num(rec.loss)) {
      run.steps.push({ iter: rec.iter, loss: rec.loss, lr: num(rec.lr) ? rec.lr : NaN, ms: num(rec.ms) ? rec.ms : NaN });
    } else if (num(rec.iter) && num(rec.val_loss) && num(rec.train_loss)) {
      run.evals.push({ iter: rec.iter, train_loss: rec.train_loss, val_loss: rec.val_loss, saved: rec.saved === true });
    }
  }
  closeSegment();
  return { run, notes };
}

/**
 * The log a run resumed from its checkpoint at iteration `from` continues: what the earlier
 * parts logged up to that checkpoint (steps before it, evaluations and other records up to it,
 * but no start record at or past it, since the resumed run writes its own). What a stopped run
 * logged past its checkpoint is dropped, and so are lines cut off by a kill: the file then holds
 * each iteration once, as parseMetrics reads it.
 */
export function metricsUpTo(text: string, from: number): string {
  const kept: string[] = [];
  for (const line of text.split('\n')) {
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      continue; // blank, or cut off by a kill
    }
    if (!isObject(rec)) continue;
    if (num(rec.iter)) {
      if (rec.event === 'start' ? rec.iter >= from : num(rec.loss) ? rec.iter >= from : rec.iter > from) continue;
    }
    kept.push(line.trim());
  }
  return kept.length ? kept.join('\n') + '\n' : '';
}

export function median(values: number[]): number | undefined {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** The lowest validation loss (the first, on ties) and whether a checkpoint was saved there. */
export function bestEval(run: RunMetrics): RunSummary['bestVal'] {
  let best: EvalRecord | undefined;
  for (const e of run.evals) if (!best || e.val_loss < best.val_loss) best = e;
  return best && { iter: best.iter, val: best.val_loss, saved: best.saved };
}

export function summarize(run: RunMetrics): RunSummary {
  const lastIter = Math.max(0, ...run.steps.map((s) => s.iter), ...run.evals.map((e) => e.iter));
  return { name: run.name, iters: lastIter, bestVal: bestEval(run), wallMs: run.wallMs, msPerIter: median(run.steps.map((s) => s.ms)) };
}

/**
 * Exponential moving average with bias correction (TensorBoard's smoothing): weight 0 is the
 * raw series; the first values are not pulled towards zero.
 */
export function smooth(values: number[], weight: number): number[] {
  const out = new Array<number>(values.length);
  let avg = 0;
  for (let i = 0; i < values.length; i++) {
    avg = weight * avg + (1 - weight) * values[i];
    out[i] = avg / (1 - weight ** (i + 1));
  }
  return out;
}

/** 1m23s, 2h05m: durations as a person reads them. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
