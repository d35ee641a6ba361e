import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { resolveDropoutRng } from '../ops/dropout.js';
import { describeBackend, loadBackend } from '../node/backends.js';
import { saveCheckpointFileAsync } from '../node/checkpoint.js';
import { loadDataset } from '../node/dataset.js';
import { acquireOutDirLock, appendLine, childPath, cleanStaleTemps, discardOpenTempFiles, ensureDir, releaseOutDirLock, writeFileAtomic } from '../node/files.js';
import { METRICS_FILE, PLOT_FILE } from '../node/plot.js';
import { formatDuration, Progress } from '../node/progress.js';
import { RunPlotter } from '../node/run-plotter.js';
import { builtinConfigs, resolveConfig, type TrainConfig } from '../train/config.js';
import { median, metricsUpTo } from '../train/metrics.js';
import { seedNote } from '../train/seed.js';
import { Trainer } from '../train/trainer.js';
import { parseArgs } from './args.js';
import { trainingStart } from './init-from.js';

export const trainUsage = `usage: yorick train [CONFIG] [--key=value ...]

CONFIG is a built-in config (${Object.keys(builtinConfigs).join(', ')}; default
shakespeare_char_cpu) or a JSON file of config values. --key=value overrides any value, with
nanoGPT's names: n_layer, n_head, n_embd, block_size, batch_size, max_iters, eval_interval,
eval_iters, learning_rate, warmup_iters, lr_decay_iters, min_lr, beta1, beta2, weight_decay,
grad_clip, gradient_accumulation_steps, dropout, bias, out_dir, dataset, init_from, seed, device
(auto, webgpu, native, wasm, reference), dropout_rng (torch: PyTorch's CPU stream; device: drawn
on the device; auto: device on WebGPU, else torch), data_dir, model (gpt or bigram),
always_save_checkpoint, eval_only.
init_from: scratch; resume (out_dir/ckpt.safetensors); a nanoGPT ckpt.pt (its weights, AdamW's
moments and iter_num; a new random stream from seed, as nanoGPT's train.py on resume); gpt2,
gpt2-medium, gpt2-large, gpt2-xl (Hugging Face's weights, from the cache or a folder of that name;
never downloaded) or a folder holding model.safetensors + config.json. finetune_shakespeare is
nanoGPT's finetuning recipe from gpt2 on data/shakespeare (yorick prepare --dataset shakespeare).
Checkpoints go to out_dir/ckpt.safetensors when the validation loss improves; the last
iteration is always evaluated, and a run saves a checkpoint of itself there if it has none.
Metrics go to out_dir/metrics.jsonl, and a plot of the run to out_dir/loss.svg (and loss.png)
after each evaluation. A loss that is not finite stops the run (exit 1), saving nothing.

Ctrl-C (or SIGTERM) stops after the step in flight, saves a checkpoint of that iteration (resume it with
--init_from=resume) and exits 130; a second Ctrl-C quits at once, keeping the last checkpoint.

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
  // one run per out_dir; temporary files of killed runs go first
  acquireOutDirLock(asked.out_dir);
  try {
    const stale = cleanStaleTemps(asked.out_dir);
    if (stale.length) console.log(`removed ${stale.length} temporary file(s) left in ${asked.out_dir} by interrupted runs: ${stale.join(', ')}`);
    if ((await train(asked, quiet)) === 'interrupted') process.exitCode = 130;
  } finally {
    releaseOutDirLock(asked.out_dir);
  }
}

async function train(asked: TrainConfig, quiet: boolean): Promise<'finished' | 'interrupted'> {
  const say = (line: string) => { if (!quiet) console.log(line); };
  const note = seedNote(asked.seed);
  if (note) say(note);
  const backend = await loadBackend(asked.device);
  say(`device: ${describeBackend(backend)}`);
  if (asked.dropout > 0) say(`dropout masks: ${resolveDropoutRng(asked.dropout_rng, backend)} stream (--dropout_rng=torch|device)`);

  const data = loadDataset(childPath(asked.data_dir, asked.dataset, 'dataset'));
  const ckptPath = join(asked.out_dir, CHECKPOINT_FILE);
  const trainerData = { train: data.train, val: data.val, vocabSize: data.meta.vocab_size, tokenizer: data.meta.tokenizer };
  // init_from: scratch, resume, or weights from elsewhere (nanoGPT's ckpt.pt, GPT-2): see init-from.ts
  const begin = trainingStart(asked, trainerData, backend, ckptPath);
  const resume = begin.resume;
  const trainer = new Trainer(begin.config, trainerData, { resume, backend, resumeWhere: begin.where, evalAtStart: begin.evalAtStart });
  const config = trainer.config;
  for (const note of [...begin.notes, ...trainer.notes]) say(`note: ${note}`);
  if (resume && begin.continuesLog) say(`resuming from ${begin.where} at iteration ${resume.state.iter_num} (best val loss ${resume.state.best_val_loss.toFixed(4)})`);
  else if (resume) say(`starting from ${begin.where} at iteration ${resume.state.iter_num}`);
  const params = trainer.model.numParams();
  say(`model: ${config.model}, ${(params / 1e6).toFixed(2)}M parameters; ` +
    `tokens per iteration: ${config.gradient_accumulation_steps * config.batch_size * config.block_size}`);

  ensureDir(config.out_dir, 'out_dir');
  const metricsPath = join(config.out_dir, METRICS_FILE);
  const metric = (o: object) => appendLine(metricsPath, JSON.stringify({ ...o, time: new Date().toISOString() }));
  // a run from scratch (or from other weights) starts a new log; a resumed one continues the log
  // as it stood at its checkpoint (what a stopped run logged past it, and a line cut off by a
  // kill, are dropped)
  if (!begin.continuesLog) writeFileSync(metricsPath, '');
  else if (existsSync(metricsPath)) writeFileAtomic(metricsPath, metricsUpTo(readFileSync(metricsPath, 'utf8'), trainer.iterNum));
  metric({ event: 'start', iter: trainer.iterNum, init_from: config.init_from, backend: backend.name, model: config.model, params, config });

  const started = await RunPlotter.start(config.out_dir);
  const plotter = started instanceof RunPlotter ? started : undefined;
  if (!plotter) say(`note: no plot of this run (${(started as { failed: string }).failed})`);
  const progress = new Progress(config.max_iters, { logEvery: config.log_interval, quiet, from: trainer.iterNum });
  const start = performance.now();
  const stepMs: number[] = [];
  let emaMs = 0;
  let savedAt = -1;
  const startIter = trainer.iterNum;
  // Ctrl-C (or SIGTERM, as a job scheduler or `kill` sends): the first stops the run after the
  // step in flight (then it saves); the second quits at once: a save in progress loses its
  // temporary file, the last checkpoint stays as it was
  const stop = new AbortController();
  const onSigint = () => {
    if (!stop.signal.aborted) {
      stop.abort();
      progress.log('interrupted: stopping after the step in flight to save a checkpoint (Ctrl-C again to quit without saving)');
      return;
    }
    discardOpenTempFiles();
    releaseOutDirLock(config.out_dir);
    progress.done();
    process.stderr.write(`interrupted again: quit without saving; ${existsSync(ckptPath) ? `${ckptPath} is the last checkpoint, untouched` : 'no checkpoint was written'}\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    await trainer.run({
      onStep: (e) => {
        emaMs = emaMs === 0 ? e.ms : 0.9 * emaMs + 0.1 * e.ms;
        stepMs.push(e.ms);
        metric({ iter: e.iter, loss: e.loss, lr: e.lr, ms: e.ms });
        progress.update(e.iter + 1, `loss ${e.loss.toFixed(4)}, lr ${e.lr.toExponential(2)}`, emaMs);
      },
      onEval: (e) => {
        metric({ iter: e.iter, train_loss: e.train, val_loss: e.val, saved: e.saved });
        plotter?.draw();
        progress.log(`step ${e.iter}: train loss ${e.train.toFixed(4)}, val loss ${e.val.toFixed(4)} (${formatDuration(performance.now() - start)})`);
      },
      saveCheckpoint: async (checkpoint, iter) => {
        await saveCheckpointFileAsync(ckptPath, checkpoint);
        savedAt = iter;
        progress.info(`saved ${ckptPath}`);
      },
      signal: stop.signal,
    });
    if (stop.signal.aborted) {
      // the state before step iterNum: a resumed run continues exactly from it
      const iter = trainer.iterNum;
      const save = savedAt !== iter && iter !== startIter;
      if (save) await saveCheckpointFileAsync(ckptPath, await trainer.checkpoint());
      progress.done();
      metric({ event: 'interrupted', iter, saved: save });
      await plotter?.close();
      const where = save ? `saved ${ckptPath}`
        : savedAt === iter ? `${ckptPath} holds this iteration already`
        : `no step was taken, nothing saved${existsSync(ckptPath) ? ` (${ckptPath} is unchanged)` : ''}`;
      console.log(`interrupted at iteration ${iter}: ${where}${existsSync(ckptPath) ? '; continue it with --init_from=resume' : ''}`);
      return 'interrupted';
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  progress.done();
  const wallMs = performance.now() - start;
  metric({ event: 'end', iter: trainer.iterNum, best_val_loss: trainer.bestValLoss, wall_ms: wallMs });
  plotter?.draw();
  const plotErrors = (await plotter?.close()) ?? [];
  for (const err of plotErrors) console.error(`note: the plot of this run could not be drawn: ${err}`);
  const ms = median(stepMs);
  say(`done: ${stepMs.length} iterations in ${formatDuration(wallMs)}${ms !== undefined ? ` (${ms.toFixed(1)} ms/iter, median)` : ''}; ` +
    `best val loss ${trainer.bestValLoss.toFixed(4)}${plotter && plotErrors.length === 0 ? `; plot: ${join(config.out_dir, PLOT_FILE)}` : ''}`);
  return 'finished';
}
