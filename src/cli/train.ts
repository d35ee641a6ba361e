import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { loadBackend } from '../node/backends.js';
import { loadCheckpointFile, saveCheckpointFile } from '../node/checkpoint.js';
import { acquireOutDirLock, appendLine, childPath, cleanStaleTemps, releaseOutDirLock } from '../node/files.js';
import { loadDataset } from '../node/dataset.js';
import { formatDuration, Progress } from '../node/progress.js';
import { setBackend } from '../tensor/tensor.js';
import { builtinConfigs, resolveConfig, type TrainConfig } from '../train/config.js';
import { seedNote } from '../train/seed.js';
import { Trainer } from '../train/trainer.js';
import { parseArgs } from './args.js';

export const trainUsage = `usage: yorick train [CONFIG] [--key=value ...]

CONFIG is a built-in config (${Object.keys(builtinConfigs).join(', ')}; default
shakespeare_char_cpu) or a JSON file of config values. --key=value overrides any value, with
nanoGPT's names: n_layer, n_head, n_embd, block_size, batch_size, max_iters, eval_interval,
eval_iters, learning_rate, warmup_iters, lr_decay_iters, min_lr, beta1, beta2, weight_decay,
grad_clip, gradient_accumulation_steps, dropout, bias, out_dir, dataset, init_from (scratch or
resume), seed, backend, data_dir, model (gpt or bigram), always_save_checkpoint, eval_only.
Checkpoints go to out_dir/ckpt.safetensors when the validation loss improves; metrics to
out_dir/metrics.jsonl.`;

export const CHECKPOINT_FILE = 'ckpt.safetensors';

function loadConfig(argv: string[]): TrainConfig {
  const { positional, flags } = parseArgs(argv, ['help', 'bias', 'eval_only', 'always_save_checkpoint', 'decay_lr']);
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
  const config = loadConfig(argv);
  // one run per out_dir; temporary files of killed runs go first
  acquireOutDirLock(config.out_dir);
  try {
    const stale = cleanStaleTemps(config.out_dir);
    if (stale.length) console.log(`removed ${stale.length} temporary file(s) left in ${config.out_dir} by interrupted runs: ${stale.join(', ')}`);
    await train(config);
  } finally {
    releaseOutDirLock(config.out_dir);
  }
}

async function train(config: TrainConfig): Promise<void> {
  const note = seedNote(config.seed);
  if (note) console.log(note);
  const backend = await loadBackend(config.backend);
  setBackend(backend);
  console.log(`backend: ${backend.name}`);

  const data = loadDataset(childPath(config.data_dir, config.dataset, 'dataset'));
  const ckptPath = join(config.out_dir, CHECKPOINT_FILE);
  let resume;
  if (config.init_from === 'resume') {
    resume = loadCheckpointFile(ckptPath);
    if (JSON.stringify(resume.state.tokenizer) !== JSON.stringify(data.meta.tokenizer)) {
      throw new UserError(`the checkpoint ${ckptPath} was trained with another tokenizer than dataset "${config.dataset}" uses (${resume.state.tokenizer.kind} vs ${data.meta.tokenizer.kind}, or a different vocabulary); resume it on the dataset it was trained on`);
    }
    const args = resume.state.model.args as unknown as Record<string, unknown>;
    for (const key of ['n_layer', 'n_head', 'n_embd', 'block_size', 'bias'] as const) {
      if (key in args && args[key] !== config[key]) {
        console.log(`note: ${key} = ${String(args[key])} from the checkpoint (the config said ${String(config[key])})`);
        (config as unknown as Record<string, unknown>)[key] = args[key];
      }
    }
    console.log(`resuming from ${ckptPath} at iteration ${resume.state.iter_num} (best val loss ${resume.state.best_val_loss.toFixed(4)})`);
  }
  const trainer = new Trainer(config, { train: data.train, val: data.val, vocabSize: data.meta.vocab_size, tokenizer: data.meta.tokenizer }, resume);
  console.log(`model: ${config.model}, ${(trainer.model.numParams() / 1e6).toFixed(2)}M parameters; ` +
    `tokens per iteration: ${config.gradient_accumulation_steps * config.batch_size * config.block_size}`);

  const metricsPath = join(config.out_dir, 'metrics.jsonl');
  const metric = (o: object) => appendLine(metricsPath, JSON.stringify({ ...o, time: new Date().toISOString() }));
  const progress = new Progress(config.max_iters, process.stderr, config.log_interval);
  const start = performance.now();
  let emaMs = 0;
  trainer.run({
    onStep: (e) => {
      emaMs = emaMs === 0 ? e.ms : 0.9 * emaMs + 0.1 * e.ms;
      metric({ iter: e.iter, loss: e.loss, lr: e.lr, ms: e.ms });
      progress.update(e.iter, `loss ${e.loss.toFixed(4)}`, emaMs);
    },
    onEval: (e) => {
      metric({ iter: e.iter, train_loss: e.train, val_loss: e.val, saved: e.saved });
      progress.log(`step ${e.iter}: train loss ${e.train.toFixed(4)}, val loss ${e.val.toFixed(4)}` +
        `${e.saved ? `, saved ${ckptPath}` : ''} (${formatDuration(performance.now() - start)})`);
    },
    saveCheckpoint: (bytes) => saveCheckpointFile(ckptPath, bytes),
  });
  progress.done();
  console.log(`done in ${formatDuration(performance.now() - start)}; best val loss ${trainer.bestValLoss.toFixed(4)}`);
}
