/**
 * Loss charts of training runs as Vega-Lite specs: plain JSON, so the same spec renders to an
 * SVG file in Node (src/node/plot.ts) and in a browser page (vega-embed). Pure, browser-safe.
 */
import type { TopLevelSpec } from 'vega-lite';
import { bestEval, formatDuration, median, smooth, summarize, type RunMetrics } from '../train/metrics.js';

/** Above this many steps a line keeps every k-th point: more than one or two a pixel shows nothing more. */
export const MAX_LINE_POINTS = 1000;

/** The series of a single-run chart, in legend order; tests find them by these names. */
export const SERIES = {
  raw: 'train loss',
  smoothed: 'train loss (smoothed)',
  trainEstimate: 'train estimate',
  valEstimate: 'val estimate',
  lr: 'learning rate',
} as const;

const COLORS = { raw: '#9ecae1', smoothed: '#1f77b4', trainEstimate: '#2ca02c', valEstimate: '#d62728', lr: '#7f7f7f' };
const WIDTH = 640, HEIGHT = 320;
/** A list of families so each renderer (browsers, resvg for PNG) finds a sans-serif it has. */
const FONT_CONFIG = { font: 'Helvetica, Arial, DejaVu Sans, Liberation Sans, sans-serif' };

/** Light smoothing that scales with the run: none for a few dozen steps, EMA 0.9 from 200 on. */
export function smoothingWeight(steps: number): number {
  return Math.min(0.9, Math.max(0, 1 - 20 / Math.max(1, steps)));
}

/** Every k-th index (always keeping the last) so that at most `max` remain. */
function strideIndices(n: number, max: number): number[] {
  const k = Math.max(1, Math.ceil(n / max));
  const idx: number[] = [];
  for (let i = 0; i < n; i += k) idx.push(i);
  if (n > 0 && idx[idx.length - 1] !== n - 1) idx.push(n - 1);
  return idx;
}

function trainLines(run: RunMetrics): { raw: { iter: number; loss: number }[]; smoothed: { iter: number; loss: number }[] } {
  const losses = run.steps.map((s) => s.loss);
  const sm = smooth(losses, smoothingWeight(losses.length));
  const idx = strideIndices(losses.length, MAX_LINE_POINTS);
  return {
    raw: idx.map((i) => ({ iter: run.steps[i].iter, loss: losses[i] })),
    smoothed: idx.map((i) => ({ iter: run.steps[i].iter, loss: sm[i] })),
  };
}

const fmt = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : '?');

/** "gpt 4 layers × 4 heads × 128" or "bigram". */
export function describeModel(run: RunMetrics, short = false): string {
  const c = run.start?.config;
  if (!c) return 'model not recorded';
  if (c.model === 'bigram') return 'bigram';
  return short ? `gpt ${c.n_layer}×${c.n_head}×${c.n_embd}` : `gpt ${c.n_layer} layers × ${c.n_head} heads × ${c.n_embd}`;
}

/**
 * Two short lines about the run's config, e.g. "gpt 4 layers × 4 heads × 128 (0.80M parameters),
 * block 64, batch 12" and "lr 0.001 (warmup 100, cosine to 0.0001), dropout 0". Vega sizes the
 * picture by a generous estimate of text width, so long lines would widen it: keep them short.
 */
export function describeConfig(run: RunMetrics): string[] {
  const c = run.start?.config;
  if (!c) return ['config not recorded'];
  const params = run.start!.params ? ` (${(run.start!.params / 1e6).toFixed(2)}M parameters)` : '';
  const accum = Number(c.gradient_accumulation_steps) > 1 ? ` × ${c.gradient_accumulation_steps} steps` : '';
  const lr = c.decay_lr === false ? `lr ${c.learning_rate} constant` : `lr ${c.learning_rate} (warmup ${c.warmup_iters}, cosine to ${c.min_lr})`;
  return [`${describeModel(run)}${params}, block ${c.block_size}, batch ${c.batch_size}${accum}`, `${lr}, dropout ${c.dropout}, seed ${c.seed}`];
}

/** "iter 2000/2000 · 12.3 ms/iter · best val 1.8812 @ 2000 · wall 3m12s". */
export function describeProgress(run: RunMetrics): string {
  const s = summarize(run);
  const maxIters = run.start?.config.max_iters;
  const parts = [`iter ${s.iters}${maxIters !== undefined ? `/${maxIters}` : ''}${run.finished ? '' : ' (running or stopped)'}`];
  if (s.msPerIter !== undefined) parts.push(`${s.msPerIter.toFixed(1)} ms/iter`);
  if (s.bestVal) parts.push(`best val ${fmt(s.bestVal.val)} @ ${s.bestVal.iter}`);
  parts.push(`wall ${formatDuration(s.wallMs)}`);
  return parts.join(' · ');
}

const xIter = { field: 'iter', type: 'quantitative', title: 'iteration', scale: { nice: false }, axis: { format: ',d', tickMinStep: 1 } } as const;

/**
 * One run: raw train loss (faint) and its smoothed line, the train and val estimates as points,
 * the best validation point marked, the learning rate on a right-hand axis; config, backend and
 * ms/iter in the title.
 */
export function runChart(run: RunMetrics): TopLevelSpec {
  const { raw, smoothed } = trainLines(run);
  const estimates = run.evals.flatMap((e) => [
    { iter: e.iter, loss: e.train_loss, series: SERIES.trainEstimate },
    { iter: e.iter, loss: e.val_loss, series: SERIES.valEstimate },
  ]);
  const best = bestEval(run);
  const lr = strideIndices(run.steps.length, MAX_LINE_POINTS).map((i) => ({ iter: run.steps[i].iter, lr: run.steps[i].lr }))
    .filter((p) => Number.isFinite(p.lr));
  const color = {
    field: 'series', type: 'nominal', title: null,
    scale: { domain: Object.values(SERIES), range: [COLORS.raw, COLORS.smoothed, COLORS.trainEstimate, COLORS.valEstimate, COLORS.lr] },
    legend: { orient: 'bottom', direction: 'horizontal', labelLimit: 400, symbolType: 'stroke', symbolStrokeWidth: 3 },
  } as const;
  const yLoss = { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } } as const;
  const lossLayers: object[] = [
    { data: { values: raw.map((p) => ({ ...p, series: SERIES.raw })) }, mark: { type: 'line', strokeWidth: 1, opacity: 0.7 }, encoding: { x: xIter, y: yLoss, color } },
    { data: { values: smoothed.map((p) => ({ ...p, series: SERIES.smoothed })) }, mark: { type: 'line', strokeWidth: 2 }, encoding: { x: xIter, y: yLoss, color } },
    { data: { values: estimates }, mark: { type: 'point', filled: true, size: 50, opacity: 1 }, encoding: { x: xIter, y: yLoss, color } },
  ];
  if (best) {
    // the numbers are in the subtitle; the mark only says which point it is
    const label = best.saved ? 'best val (checkpoint)' : 'best val';
    lossLayers.push({
      data: { values: [{ iter: best.iter, loss: best.val, label }] },
      layer: [
        { mark: { type: 'point', shape: 'diamond', size: 260, strokeWidth: 2, color: '#000', filled: false } },
        { mark: { type: 'text', align: 'right', dx: -10, dy: -14, fontSize: 11 }, encoding: { text: { field: 'label' } } },
      ],
      encoding: { x: xIter, y: yLoss },
    });
  }
  const layers: object[] = [{ layer: lossLayers }];
  if (lr.length) {
    layers.push({
      data: { values: lr.map((p) => ({ ...p, series: SERIES.lr })) },
      mark: { type: 'line', strokeWidth: 1, strokeDash: [4, 3] },
      encoding: {
        x: xIter,
        y: { field: 'lr', type: 'quantitative', title: 'learning rate', axis: { orient: 'right', format: '.1~e', grid: false } },
        color,
      },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${run.name} (${run.start?.backend ?? 'unknown'} backend)`, subtitle: [...describeConfig(run), describeProgress(run)], anchor: 'start', fontSize: 14, subtitlePadding: 4 },
    width: WIDTH, height: HEIGHT,
    background: 'white',
    config: FONT_CONFIG,
    layer: layers,
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/**
 * Several runs on one chart: each run's smoothed train loss (solid) and val estimates (dashed,
 * with points), one color a run.
 */
export function compareChart(runs: RunMetrics[]): TopLevelSpec {
  const names = runs.map((r) => r.name);
  const train = runs.flatMap((r) => trainLines(r).smoothed.map((p) => ({ ...p, run: r.name, kind: 'train loss (smoothed)' })));
  const val = runs.flatMap((r) => r.evals.map((e) => ({ iter: e.iter, loss: e.val_loss, run: r.name, kind: 'val estimate' })));
  const color = { field: 'run', type: 'nominal', title: 'run', scale: { domain: names, scheme: 'category10' }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 600, symbolType: 'stroke', symbolStrokeWidth: 3 } } as const;
  const dash = { field: 'kind', type: 'nominal', title: null, scale: { domain: ['train loss (smoothed)', 'val estimate'], range: [[1, 0], [5, 3]] }, legend: {
      orient: 'bottom', labelLimit: 400, symbolType: 'stroke', symbolStrokeWidth: 2,
      // Vega-Lite draws this legend's strokes transparent (the color legend carries the colors)
      encode: { symbols: { update: { stroke: { value: '#444' } } } },
    } } as const;
  const y = { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } } as const;
  const subtitle = runs.map((r) => {
    const ms = median(r.steps.map((s) => s.ms));
    const lr = r.start ? `, lr ${r.start.config.learning_rate}` : '';
    return `${r.name}: ${describeModel(r, true)}${lr}, ${r.start?.backend ?? '?'} backend${ms !== undefined ? `, ${ms.toFixed(1)} ms/iter` : ''}`;
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `loss of ${runs.length} run${runs.length === 1 ? '' : 's'}`, subtitle, anchor: 'start', fontSize: 14, subtitlePadding: 4 },
    width: WIDTH, height: HEIGHT,
    background: 'white',
    config: FONT_CONFIG,
    layer: [
      { data: { values: train }, mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x: xIter, y, color, strokeDash: dash, detail: { field: 'run' } } },
      { data: { values: val }, mark: { type: 'line', strokeWidth: 1.5, point: { filled: true, size: 40 } }, encoding: { x: xIter, y, color, strokeDash: dash } },
    ],
  } as TopLevelSpec;
}
