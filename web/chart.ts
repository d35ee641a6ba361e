// Charts, loaded on first use (Vega and Vega-Lite are most of the page's weight): the run's
// loss chart from src/plot/charts.ts, and the attention heatmap.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { runChart } from '../src/plot/charts.js';
import type { RunMetrics } from '../src/train/metrics.js';

const views = new Map<HTMLElement, View>();

async function show(el: HTMLElement, spec: TopLevelSpec): Promise<void> {
  views.get(el)?.finalize();
  const view = new View(parse(compile(spec).spec), { renderer: 'svg', container: el, hover: true });
  views.set(el, view);
  await view.runAsync();
}

/** Draws the run; returns the number of plotted points (steps and estimates). */
export async function renderRun(el: HTMLElement, run: RunMetrics): Promise<number> {
  await show(el, runChart(run));
  return run.steps.length + 2 * run.evals.length;
}

/** weights [T, T]: row t = query position, column s = key position. */
export async function renderHeatmap(el: HTMLElement, pieces: string[], weights: Float32Array, title: string): Promise<void> {
  const T = pieces.length;
  // labels must be unique along an axis: position, then the token
  const label = (i: number) => `${String(i).padStart(2, ' ')} ${JSON.stringify(pieces[i]).slice(1, -1)}`;
  const values: { q: string; k: string; w: number }[] = [];
  for (let t = 0; t < T; t++) for (let s = 0; s <= t; s++) values.push({ q: label(t), k: label(s), w: weights[t * T + s] });
  const order = pieces.map((_, i) => label(i));
  const cell = Math.max(8, Math.min(22, Math.floor(640 / T)));
  await show(el, {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title, data: { values }, width: cell * T, height: cell * T, background: 'white',
    mark: 'rect',
    encoding: {
      x: { field: 'k', type: 'ordinal', sort: order, title: 'attends to (key)', axis: { labelFont: 'monospace', labelAngle: -60 } },
      y: { field: 'q', type: 'ordinal', sort: order, title: 'position (query)', axis: { labelFont: 'monospace' } },
      color: { field: 'w', type: 'quantitative', title: 'weight', scale: { scheme: 'blues', domain: [0, 1] } },
      tooltip: [{ field: 'q' }, { field: 'k' }, { field: 'w', format: '.3f' }],
    },
  } as TopLevelSpec);
}
