/**
 * Charts to files: Vega-Lite specs (src/plot/charts.ts) rendered to SVG by Vega in Node, without
 * a browser or a canvas; PNG as well when the optional @resvg/resvg-js (a prebuilt binary inside
 * its npm package) is installed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../errors.js';
import { runChart } from '../plot/charts.js';
import { parseMetrics, type RunMetrics } from '../train/metrics.js';
import { writeFileAtomic } from './prepare.js';

export const METRICS_FILE = 'metrics.jsonl';
export const PLOT_FILE = 'loss.svg';

type Vega = typeof import('vega');
type VegaLite = typeof import('vega-lite');
let libs: Promise<{ vega: Vega; vl: VegaLite }> | undefined;

/** Vega is imported on first use: a tenth of a second that `yorick sample` need not pay. */
function loadVega(): Promise<{ vega: Vega; vl: VegaLite }> {
  libs ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => ({ vega, vl }));
  return libs;
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega, vl } = await loadVega();
  // Vega-Lite's warnings (e.g. about a scale it adjusted) are for spec authors, not for users
  const quiet = { level: () => quiet, error: (...a: unknown[]) => { throw new Error(a.join(' ')); }, warn: () => quiet, info: () => quiet, debug: () => quiet };
  const view = new vega.View(vega.parse(vl.compile(spec, { logger: quiet as never }).spec), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

interface Resvg { render(): { asPng(): Uint8Array } }
type ResvgModule = { Resvg: new (svg: string, opts?: object) => Resvg };
let resvg: Promise<ResvgModule | null> | undefined;

/** The optional PNG renderer, or null when it is not installed (or has no binary for this platform). */
export function loadResvg(): Promise<ResvgModule | null> {
  const name = '@resvg/resvg-js';
  resvg ??= (import(name) as Promise<ResvgModule>).then((m) => (m.Resvg ? m : null), () => null);
  return resvg;
}

/** PNG bytes of an SVG at twice its size, or null without the optional renderer. */
export async function svgToPng(svg: string): Promise<Uint8Array | null> {
  const m = await loadResvg();
  if (!m) return null;
  return new m.Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true } }).render().asPng();
}

/** Reads DIR/metrics.jsonl; a folder without one is a UserError naming it. */
export function readRunMetrics(dir: string, name = dir): { run: RunMetrics; notes: string[] } {
  const path = join(dir, METRICS_FILE);
  if (!existsSync(path)) {
    throw new UserError(existsSync(dir)
      ? `${dir} holds no ${METRICS_FILE}: it is not the out_dir of a yorick train run`
      : `${dir} does not exist (expected the out_dir of a yorick train run)`);
  }
  const parsed = parseMetrics(readFileSync(path, 'utf8'), name, path);
  if (parsed.run.steps.length === 0 && parsed.run.evals.length === 0) {
    throw new UserError(`${path} holds no training steps or evaluations to plot`);
  }
  return parsed;
}

/** Writes a chart to `path`: PNG when it ends in .png, else SVG; whole or not at all. Returns the paths written. */
export async function writeChart(spec: TopLevelSpec, path: string, alsoPng = false): Promise<string[]> {
  const svg = await renderSvg(spec);
  if (path.toLowerCase().endsWith('.png')) {
    const png = await svgToPng(svg);
    if (!png) throw new UserError(`cannot write ${path}: PNG needs the optional package @resvg/resvg-js, which is not installed here; write an .svg instead`);
    writeFileAtomic(path, png);
    return [path];
  }
  writeFileAtomic(path, svg);
  const written = [path];
  if (alsoPng) {
    const png = await svgToPng(svg);
    if (png) {
      const pngPath = path.replace(/\.svg$/i, '') + '.png';
      writeFileAtomic(pngPath, png);
      written.push(pngPath);
    }
  }
  return written;
}

/** Draws out_dir/loss.svg (and loss.png when it can) from out_dir/metrics.jsonl. */
export async function writeRunPlot(outDir: string): Promise<string[]> {
  const { run } = readRunMetrics(outDir);
  return writeChart(runChart(run), join(outDir, PLOT_FILE), true);
}
