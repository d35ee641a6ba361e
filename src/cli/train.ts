import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { describeBackend, loadBackend } from '../node/backends.js';
import { loadCheckpointFile, saveCheckpointFile } from '../node/checkpoint.js';
import { loadDataset } from '../node/prepare.js';
import { METRICS_FILE, PLOT_FILE } from '../node/plot.js';
import { formatDuration, Progress } from '../node/progress.js';
import { RunPlotter } from '../node/run-plotter.js';
import { builtinConfigs, resolveConfig, type TrainConfig } from '../train/config.js';
import { median } from '../train/metrics.js';
import { Trainer } from '../train/trainer.js';
import { parseArgs } from './args.js';

export const trainUsage = `usage: yorick train [CONFIG] [--key=value ...]

CONFIG is a built-in config (${Object.keys(builtinConfigs).join(', ')}; default
shakespeare_char_cpu) or a JSON file of config values. --key=value overrides any value, with
nanoGPT's names: n_layer, n_head, n_embd, block_size, batch_size, max_iters, eval_interval,
eval_iters, learning_rate, warmup_iters, lr_decay_iters, min_lr, beta1, beta2, weight_decay,
grad_clip, gradient_accumulation_steps, dropout, bias, out_dir, dataset, init_from (scratch or
resume), seed, device (auto, webgpu, native, wasm, reference), data_dir, model (gpt or bigram), always_save_checkpoint, eval_only.
Checkpoints go to out_dir/ckpt.safetensors when the validation loss improves; metrics to
out_dir/metrics.jsonl, and a plot of the run to out_dir/loss.svg (and loss.png) after each
evaluation.

On a terminal a live progress line shows each iteration; otherwise (a pipe, a log file) a line
every log_interval iterations, each evaluation and save, and a summary.
  --quiet   print only the evaluations`;

export const CHECKPOINT_FILE = 'ckpt.safetensors';

function loadConfig(argv: string[]): { config: TrainConfig; quiet: boolean } {
  const { positional, flags } = parseArgs(argv, ['help', 'bias', 'eval_only', 'always_save_checkpoint', 'decay_lr', 'quiet']);
  const quiet = flags.quiet !== undefined && flags.quiet !== 'false';
  delete flags.quiet;
  return { config: configFrom(positional, flags), quiet };
}

function configFrom(positional: string[], flags: Record<string, string>): TrainConfig {
  if (positional.length > 1) throw new UserError(`yorick train: expected at most one config, got ${positional.join(' ')}`);
  const base = positional[0] ?? 'shakespeare_char_cpu';
  if (base.endsWith('.json')) {
    if (!existsSync(base)) throw new UserError(`config file not found: ${base}`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(base, 'utf8'));
    } catch (e) {
      throw new UserError(`${base} is not valid JSON: ${(e as Error).message}`);
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UserError(`${base} must hold a JSON object of config values`);
    return resolveConfig({ json: json as Record<string, unknown>, jsonWhere: base }, flags);
  }
  return resolveConfig({ name: base }, flags);
}

export async function trainCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) return void console.log(trainUsage);
  const { config: asked, quiet } = loadConfig(argv);
  const say = (line: string) => { if (!quiet) console.log(line); };
  const backend = await loadBackend(asked.device);
  say(`device: ${describeBackend(backend)}`);

  const data = loadDataset(join(asked.data_dir, asked.dataset));
  const ckptPath = join(asked.out_dir, CHECKPOINT_FILE);
  const resume = asked.init_from === 'resume' ? loadCheckpointFile(ckptPath, { backend }) : undefined;
  const trainer = new Trainer(asked, { train: data.train, val: data.val, vocabSize: data.meta.vocab_size, tokenizer: data.meta.tokenizer },
    { resume, backend, resumeWhere: ckptPath });
  const config = trainer.config;
  for (const note of trainer.notes) say(`note: ${note}`);
  if (resume) say(`resuming from ${ckptPath} at iteration ${resume.state.iter_num} (best val loss ${resume.state.best_val_loss.toFixed(4)})`);
  const params = trainer.model.numParams();
  say(`model: ${config.model}, ${(params / 1e6).toFixed(2)}M parameters; ` +
    `tokens per iteration: ${config.gradient_accumulation_steps * config.batch_size * config.block_size}`);

  mkdirSync(config.out_dir, { recursive: true });
  const metricsPath = join(config.out_dir, METRICS_FILE);
  const metric = (o: object) => appendFileSync(metricsPath, JSON.stringify({ ...o, time: new Date().toISOString() }) + '\n');
  // a run from scratch starts a new log; a resumed one continues it on a fresh line (the last
  // one may have been cut off when the earlier run was killed)
  if (!resume) writeFileSync(metricsPath, '');
  else if (existsSync(metricsPath) && !readFileSync(metricsPath, 'utf8').endsWith('\n')) appendFileSync(metricsPath, '\n');
  metric({ event: 'start', iter: trainer.iterNum, init_from: config.init_from, backend: backend.name, model: config.model, params, config });

  const started = await RunPlotter.start(config.out_dir);
  const plotter = started instanceof RunPlotter ? started : undefined;
  if (!plotter) say(`note: no plot of this run (${(started as { failed: string }).failed})`);
  const progress = new Progress(config.max_iters, { logEvery: config.log_interval, quiet, from: trainer.iterNum });
  const start = performance.now();
  const stepMs: number[] = [];
  let emaMs = 0;
  await trainer.run({
    onStep: (e) => {
      emaMs = emaMs === 0 ? e.ms : 0.9 * emaMs + 0.1 * e.ms;
      stepMs.push(e.ms);
      metric({ iter: e.iter, loss: e.loss, lr: e.lr, ms: e.ms });
      progress.update(e.iter, `loss ${e.loss.toFixed(4)}, lr ${e.lr.toExponential(2)}`, emaMs);
    },
    onEval: (e) => {
      metric({ iter: e.iter, train_loss: e.train, val_loss: e.val, saved: e.saved });
      plotter?.draw();
      progress.log(`step ${e.iter}: train loss ${e.train.toFixed(4)}, val loss ${e.val.toFixed(4)} (${formatDuration(performance.now() - start)})`);
      if (e.saved) progress.info(`saved ${ckptPath}`);
    },
    saveCheckpoint: (bytes) => saveCheckpointFile(ckptPath, bytes),
  });
  progress.done();
  const wallMs = performance.now() - start;
  metric({ event: 'end', iter: trainer.iterNum, best_val_loss: trainer.bestValLoss, wall_ms: wallMs });
  plotter?.draw();
  const plotErrors = (await plotter?.close()) ?? [];
  for (const err of plotErrors) console.error(`note: the plot of this run could not be drawn: ${err}`);
  const ms = median(stepMs);
  say(`done: ${stepMs.length} iterations in ${formatDuration(wallMs)}${ms !== undefined ? ` (${ms.toFixed(1)} ms/iter, median)` : ''}; ` +
    `best val loss ${trainer.bestValLoss.toFixed(4)}${plotter && plotErrors.length === 0 ? `; plot: ${join(config.out_dir, PLOT_FILE)}` : ''}`);
}
