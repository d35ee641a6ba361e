import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { hfGpt2Parts } from '../io/hf-gpt2.js';
import { SafetensorsError } from '../io/safetensors.js';
import { checkWritableParent, ensureDir, writeFileAtomic } from '../node/files.js';
import { writeNanoGptFile, writeNanoGptMetaFile } from '../node/nanogpt-file.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../node/safetensors-file.js';
import { deserializeCheckpoint, type CheckpointContents } from '../train/checkpoint.js';
import { hfFromCheckpoint, nanoGptFromCheckpoint } from '../train/export.js';
import { parseArgs, takeFlags } from './args.js';
import { CHECKPOINT_FILE } from './train.js';

export const exportUsage = `usage: yorick export --format nanogpt|hf [--out_dir DIR | --ckpt FILE] [--out PATH]

Writes a yorick checkpoint (out_dir/${CHECKPOINT_FILE}, default out_dir out-shakespeare-char-cpu;
or --ckpt FILE) in a layout PyTorch's tools read:
  --format nanogpt  nanoGPT's ckpt.pt (default --out: out_dir/ckpt.pt): the weights, AdamW's
                    state, model_args, iter_num, best_val_loss and config, as its train.py saves
                    them; its sample.py and train.py --init_from=resume take it (also with
                    torchrun on many GPUs). A character vocabulary goes to meta.pkl beside it:
                    nanoGPT reads it from data/<dataset>/meta.pkl.
  --format hf       GPT-2 in Hugging Face's layout: --out is a folder (default out_dir/hf) that
                    gets model.safetensors and config.json (GPT2LMHeadModel reads them).
  --attn_bias_buffers  also write the attn.bias mask buffers that nanoGPT's model registers on
                    PyTorch before 2.0 (no flash attention), whose strict load needs them.`;

function readContents(path: string): CheckpointContents {
  if (!existsSync(path)) throw new UserError(`no checkpoint at ${path}; train one first (yorick train), or pass --out_dir or --ckpt`);
  try {
    return deserializeCheckpoint(readSafetensorsFile(path), path);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${(e as Error).message}${e instanceof SafetensorsError ? '; the checkpoint is corrupt or incomplete' : ''}`);
  }
}

export async function exportCommand(argv: string[]): Promise<void> {
  const { flags, positional } = parseArgs(argv, ['help', 'attn_bias_buffers']);
  if (flags.help) return void console.log(exportUsage);
  if (positional.length) throw new UserError(`yorick export: unexpected argument "${positional[0]}"\n${exportUsage}`);
  const f = takeFlags(flags, ['format', 'out_dir', 'ckpt', 'out', 'attn_bias_buffers'] as const, 'export');
  if (f.format !== 'nanogpt' && f.format !== 'hf') {
    throw new UserError(`yorick export: --format must be nanogpt or hf, got ${f.format === undefined ? 'nothing' : JSON.stringify(f.format)}\n${exportUsage}`);
  }
  if (f.ckpt && f.out_dir) throw new UserError('yorick export: give --out_dir or --ckpt, not both');
  const outDir = f.out_dir ?? 'out-shakespeare-char-cpu';
  const source = f.ckpt ?? join(outDir, CHECKPOINT_FILE);
  const contents = readContents(source);
  const say = (line: string) => console.log(line);

  if (f.format === 'nanogpt') {
    const out = f.out ?? join(dirname(source), 'ckpt.pt');
    if (existsSync(out) && statSync(out).isDirectory()) throw new UserError(`--out ${out} is a folder; give the ckpt.pt file to write`);
    checkWritableParent(out, '--out');
    const { ckpt, notes } = nanoGptFromCheckpoint(contents, source);
    for (const n of notes) say(`note: ${n}`);
    writeNanoGptFile(out, ckpt, { attnBiasBuffers: f.attn_bias_buffers !== undefined && f.attn_bias_buffers !== 'false' });
    say(`wrote ${out} (nanoGPT's ckpt.pt: iteration ${ckpt.iterNum}, ${ckpt.modelArgs.n_layer} layers, vocab_size ${ckpt.modelArgs.vocab_size})`);
    const tok = contents.state.tokenizer;
    if (tok.kind === 'char') {
      const meta = join(dirname(out), 'meta.pkl');
      writeNanoGptMetaFile(meta, tok.chars as string[]);
      say(`wrote ${meta}: nanoGPT's sample.py reads it from data/${String(ckpt.config.dataset)}/meta.pkl`);
    } else if (!(tok.kind === 'tiktoken' && tok.encoding === 'gpt2')) {
      say(`note: the model reads ${tok.kind} tokens; nanoGPT's sample.py decodes with GPT-2's tokenizer when it finds no meta.pkl`);
    }
    return;
  }
  const dir = f.out ?? join(dirname(source), 'hf');
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError(`--out ${dir} is a file; --format hf writes a folder (model.safetensors, config.json)`);
  const { stateDict, modelArgs, notes } = hfFromCheckpoint(contents, source);
  for (const n of notes) say(`note: ${n}`);
  const { tensors, metadata, config } = hfGpt2Parts(stateDict, modelArgs);
  ensureDir(dir, '--out');
  writeSafetensorsFile(join(dir, 'model.safetensors'), tensors, metadata);
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  say(`wrote ${join(dir, 'model.safetensors')} and config.json (GPT-2 in Hugging Face's layout, activation ${modelArgs.activation})`);
}
