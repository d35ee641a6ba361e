// 4 Train: a built-in config with editable nanoGPT fields; start / pause / resume / stop; live
// loss chart (Vega-Lite, src/plot/charts.ts), ms/iter, tokens/s and the backend in use.
import { builtinConfigs, defaultTrainConfig, type TrainConfig } from '../../src/train/config.js';
import type { RunMetrics } from '../../src/train/metrics.js';
import { $, app, attempt, h, say } from '../app.js';

const FIELDS: (keyof TrainConfig)[] = ['n_layer', 'n_head', 'n_embd', 'block_size', 'batch_size', 'dropout', 'bias', 'max_iters', 'eval_interval',
  'eval_iters', 'learning_rate', 'decay_lr', 'warmup_iters', 'lr_decay_iters', 'min_lr', 'weight_decay', 'beta1', 'beta2', 'grad_clip',
  'gradient_accumulation_steps', 'seed'];
const GPT_ONLY = new Set(['n_layer', 'n_head', 'n_embd', 'dropout', 'bias']);

let run: RunMetrics | null = null;
let config: TrainConfig | null = null;
let started = 0;
let chartDue = 0;
let chartTimer: ReturnType<typeof setTimeout> | null = null;

function fillFields(name: string): void {
  const c = { ...defaultTrainConfig, ...builtinConfigs[name] };
  const set = $('train-fields');
  set.querySelectorAll('label').forEach((l) => l.remove());
  for (const key of FIELDS) {
    const v = c[key];
    const input = typeof v === 'boolean'
      ? h('select', { id: `f-${key}`, 'data-key': key }, h('option', { text: 'true' }), h('option', { text: 'false' }))
      : h('input', { id: `f-${key}`, 'data-key': key, type: 'text', size: '8', value: String(v) });
    if (input instanceof HTMLSelectElement) input.value = String(v);
    if (c.model === 'bigram' && GPT_ONLY.has(key)) input.setAttribute('disabled', '');
    set.append(h('label', { for: `f-${key}` }, key, input));
  }
}

function overrides(): Record<string, string> {
  const out: Record<string, string> = {};
  $('train-fields').querySelectorAll<HTMLInputElement | HTMLSelectElement>('[data-key]').forEach((el) => {
    if (!el.disabled) out[el.dataset.key!] = el.value.trim();
  });
  return out;
}

function stat(name: string, value: string): HTMLElement {
  return h('div', {}, h('dt', { text: name }), h('dd', { 'data-stat': name, text: value }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function showStats(): void {
  if (!run || !config) return;
  const steps = run.steps;
  const lastStep = steps[steps.length - 1];
  const recent = steps.slice(-20).map((s) => s.ms);
  const ms = recent.length ? median(recent) : null;
  const tokens = config.batch_size * config.block_size * config.gradient_accumulation_steps;
  const lastEval = run.evals[run.evals.length - 1];
  app.metrics.msPerIter = ms;
  app.metrics.tokensPerSec = ms ? (tokens * 1000) / ms : null;
  $('train-stats').replaceChildren(
    stat('iter', `${lastStep ? lastStep.iter + 1 : 0} / ${config.max_iters}`), // steps done (the first step is iteration 0)
    stat('loss', lastStep ? lastStep.loss.toFixed(4) : '–'),
    stat('train / val', lastEval ? `${lastEval.train_loss.toFixed(3)} / ${lastEval.val_loss.toFixed(3)}` : '–'),
    stat('ms/iter', ms ? ms.toFixed(1) : '–'),
    stat('tokens/s', ms ? Math.round((tokens * 1000) / ms).toLocaleString('en-US') : '–'),
    stat('backend', app.backend || '–'),
    stat('first step', app.metrics.firstStepMs !== null ? `${(app.metrics.firstStepMs / 1000).toFixed(2)} s after the page opened` : '–'),
  );
}

async function drawChart(): Promise<void> {
  chartTimer = null;
  if (!run) return;
  chartDue = performance.now() + 500;
  const { renderRun } = await import('../chart.js');
  run.wallMs = performance.now() - started;
  app.metrics.chartPoints = await renderRun($('loss-chart'), run);
}

/** Redraws at most twice a second. */
function scheduleChart(): void {
  if (chartTimer) return;
  chartTimer = setTimeout(() => void drawChart(), Math.max(0, chartDue - performance.now()));
}

function setButtons(state: 'idle' | 'running' | 'paused'): void {
  app.trainIdle = state === 'idle';
  $<HTMLButtonElement>('train-start').disabled = state !== 'idle' && state !== 'paused' || !app.tokenizer && !app.opened;
  $<HTMLButtonElement>('train-pause').disabled = state !== 'running';
  $<HTMLButtonElement>('train-resume').disabled = state !== 'paused';
  $<HTMLButtonElement>('train-stop').disabled = state === 'idle';
  $('train-start').textContent = app.opened ? 'Continue the opened checkpoint' : 'Start';
}

let state: 'idle' | 'running' | 'paused' = 'idle';

async function runTraining(fresh: boolean): Promise<void> {
  const req = { config: $<HTMLSelectElement>('train-config').value, overrides: overrides(), fresh };
  if (fresh || !run) {
    const resolved = await attempt('checking the config', () => app.client.call.resolveTrainConfig(req));
    if (!resolved) return;
    config = resolved;
    run = { name: req.config, start: { event: 'start', iter: 0, init_from: 'scratch', backend: app.backend, model: resolved.model, params: 0, config: { ...resolved }, time: '' }, steps: [], evals: [], wallMs: 0, finished: false };
    started = performance.now();
  }
  state = 'running';
  app.training = true;
  setButtons(state);
  app.refresh();
  $('train-note').textContent = '';
  say(`training ${req.config} on ${app.backend}…`);
  const r = await attempt('training', () => app.client.call.train(req));
  app.training = false;
  if (r) {
    app.hasModel = true;
    app.isGpt = config?.model === 'gpt';
    if (app.opened) app.opened = false;
    const stopped = (state as string) === 'idle'; // the Stop button was pressed meanwhile
    state = r.finished || stopped ? 'idle' : 'paused';
    if (r.finished && run) run.finished = true;
    if (r.notes.length) $('train-note').textContent = r.notes.join('; ');
    say(r.finished ? `training finished at iteration ${r.iter}`
      : stopped ? `stopped at iteration ${r.iter}: the model stays for sampling and download; Start begins a new one`
        : `paused at iteration ${r.iter}: sample from it, or resume`);
  } else state = 'idle';
  setButtons(state);
  await drawChart();
  app.refresh();
}

export function initTrain(): void {
  const select = $<HTMLSelectElement>('train-config');
  select.addEventListener('change', () => fillFields(select.value));
  fillFields(select.value);
  app.changed.push(() => setButtons(state));
  app.onEvent((e) => {
    if (!run) return;
    if (e.type === 'step') {
      if (app.metrics.firstStepMs === null) app.metrics.firstStepMs = performance.now();
      app.metrics.steps++;
      run.steps.push({ iter: e.iter, loss: e.loss, lr: e.lr, ms: e.ms });
    } else if (e.type === 'eval') {
      run.evals.push({ iter: e.iter, train_loss: e.train, val_loss: e.val, saved: false });
      app.metrics.evals.push({ iter: e.iter, val: e.val });
    } else return;
    showStats();
    scheduleChart();
  });
  $('train-start').addEventListener('click', () => void runTraining(!app.opened));
  $('train-resume').addEventListener('click', () => void runTraining(false));
  $('train-pause').addEventListener('click', () => void app.client.call.pause());
  $('train-stop').addEventListener('click', async () => {
    state = 'idle';
    await app.client.call.stop();
    setButtons(state);
    app.refresh();
  });
}

/** A checkpoint was opened: the next Start continues it with its own config. */
export function checkpointOpened(opened: TrainConfig, iter: number): void {
  const select = $<HTMLSelectElement>('train-config');
  select.value = opened.model === 'bigram' ? 'bigram_shakespeare_char' : 'shakespeare_char_cpu';
  fillFields(select.value);
  for (const key of FIELDS) {
    const el = document.getElementById(`f-${key}`) as HTMLInputElement | null;
    if (el && opened[key] !== undefined) el.value = String(opened[key]);
  }
  config = { ...defaultTrainConfig, ...opened };
  run = { name: `checkpoint at ${iter}`, start: { event: 'start', iter, init_from: 'resume', backend: app.backend, model: opened.model, params: 0, config: { ...opened }, time: '' }, steps: [], evals: [], wallMs: 0, finished: false };
  started = performance.now();
  state = 'idle';
  setButtons(state);
}
