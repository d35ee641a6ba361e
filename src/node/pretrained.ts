/**
 * What `--init_from` names, and the model it gives for sampling: yorick's own checkpoint
 * (ckpt.safetensors), nanoGPT's ckpt.pt, or GPT-2 in Hugging Face's layout (a folder, or a
 * GPT-2 name found in the Hugging Face cache). The model is built as nanoGPT's sample.py builds
 * it, so `samplingGenerator(model.spec(), seed)` then gives sample.py's stream.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { UserError } from '../errors.js';
import { gptFromStateDict } from '../io/load-gpt.js';
import type { LanguageModel } from '../models/model.js';
import { CHECKPOINT_FORMAT } from '../train/checkpoint.js';
import type { TokenizerSpec } from '../tokenizers/types.js';
import { loadCheckpointFile } from './checkpoint.js';
import { findHfModel, GPT2_NAMES, isGpt2Name, loadHfGpt2, type HfModelFiles } from './hf-gpt2-file.js';
import { nanoGptMetaPath, readNanoGptFile, readNanoGptMetaFile } from './nanogpt-file.js';
import { readSafetensorsHeaderFile } from './safetensors-file.js';

export const YORICK_CHECKPOINT = 'ckpt.safetensors';
export const NANOGPT_CHECKPOINT = 'ckpt.pt';

export type ModelSource =
  | { kind: 'yorick'; path: string }
  | { kind: 'nanogpt'; path: string }
  | { kind: 'hf'; name: string; files: HfModelFiles };

const INIT_FROM_HELP = `resume (the checkpoint in out_dir), ${GPT2_NAMES.join(', ')}, a ${NANOGPT_CHECKPOINT} or ${YORICK_CHECKPOINT} file, ` +
  'or a folder holding one of them or model.safetensors + config.json';

const isDir = (p: string) => statSync(p).isDirectory();

/** A .safetensors file: yorick's checkpoint (by its format metadata) or Hugging Face weights. */
function safetensorsKind(path: string): 'yorick' | 'hf' {
  let format: string | undefined;
  try {
    format = readSafetensorsHeaderFile(path).metadata.format;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${(e as Error).message}`);
  }
  return format === CHECKPOINT_FORMAT ? 'yorick' : 'hf';
}

/** Resolves an --init_from value (see INIT_FROM_HELP) to the file it names. */
export function resolveModelSource(initFrom: string, outDir: string, env: NodeJS.ProcessEnv = process.env): ModelSource {
  if (isGpt2Name(initFrom)) return { kind: 'hf', name: initFrom, files: findHfModel(initFrom, env) };
  const path = initFrom === 'resume' ? outDir : initFrom;
  if (!existsSync(path)) {
    throw new UserError(initFrom === 'resume'
      ? `no checkpoint at ${outDir} (no such folder); train one first (yorick train), or pass --out_dir where it is`
      : `--init_from=${initFrom}: no such file or folder; expected ${INIT_FROM_HELP}`);
  }
  if (isDir(path)) {
    if (existsSync(join(path, YORICK_CHECKPOINT))) return { kind: 'yorick', path: join(path, YORICK_CHECKPOINT) };
    if (existsSync(join(path, NANOGPT_CHECKPOINT))) return { kind: 'nanogpt', path: join(path, NANOGPT_CHECKPOINT) };
    if (existsSync(join(path, 'model.safetensors')) || existsSync(join(path, 'config.json'))) return { kind: 'hf', name: path, files: findHfModel(path, env) };
    throw new UserError(`no checkpoint at ${path}: expected ${YORICK_CHECKPOINT} (yorick), ${NANOGPT_CHECKPOINT} (nanoGPT) or model.safetensors + config.json (Hugging Face); ` +
      (initFrom === 'resume' ? 'train one first (yorick train), or pass --out_dir where it is' : `--init_from takes ${INIT_FROM_HELP}`));
  }
  if (path.endsWith('.safetensors')) {
    return safetensorsKind(path) === 'yorick' ? { kind: 'yorick', path } : { kind: 'hf', name: path, files: findHfModel(path, env) };
  }
  return { kind: 'nanogpt', path };
}

export interface SamplingModel {
  model: LanguageModel;
  tokenizer: TokenizerSpec;
  /** Where the model came from, and how the tokenizer was chosen, for the user to see. */
  notes: string[];
}

const GPT2_TOKENIZER: TokenizerSpec = { kind: 'tiktoken', encoding: 'gpt2' };

/**
 * The model to sample from and its tokenizer. nanoGPT's checkpoints take their vocabulary from
 * <data_dir>/<config.dataset>/meta.pkl when it exists, else GPT-2's, as sample.py decides.
 */
export function loadForSampling(source: ModelSource, opts: { backend: Backend; dataDir: string }): SamplingModel {
  const { backend } = opts;
  if (source.kind === 'yorick') {
    const { model, state } = loadCheckpointFile(source.path, { backend });
    return { model, tokenizer: state.tokenizer, notes: [] };
  }
  if (source.kind === 'hf') {
    const { model } = loadHfGpt2(source.files, { backend });
    return { model, tokenizer: GPT2_TOKENIZER, notes: [`GPT-2 weights from ${source.files.weights}`] };
  }
  const ck = readNanoGptFile(source.path);
  // sample.py builds GPT(GPTConfig(**model_args)) then loads the state dict over it
  const model = gptFromStateDict(ck.modelArgs, ck.stateDict, { backend });
  const meta = nanoGptMetaPath(opts.dataDir, ck);
  if (meta && existsSync(meta)) {
    const tokenizer = readNanoGptMetaFile(meta);
    if ((tokenizer.chars as string[]).length > ck.modelArgs.vocab_size) {
      throw new UserError(`${meta} has ${(tokenizer.chars as string[]).length} characters, more than the model's vocab_size ${ck.modelArgs.vocab_size}: it is not this checkpoint's vocabulary`);
    }
    return { model, tokenizer, notes: [`vocabulary from ${meta}`] };
  }
  const looked = meta ?? "<data_dir>/<dataset>/meta.pkl (the checkpoint's config names no dataset)";
  if (ck.modelArgs.vocab_size < 50257) {
    throw new UserError(`${source.path} has vocab_size ${ck.modelArgs.vocab_size}, too small for GPT-2's 50257 tokens, and there is no meta.pkl at ${looked}; ` +
      `a character model needs its meta.pkl: pass --data_dir=FOLDER holding ${String(ck.config.dataset ?? '<dataset>')}/meta.pkl`);
  }
  const notes = [`no meta.pkl at ${looked}: decoding with GPT-2's tokenizer, as nanoGPT's sample.py does`];
  return { model, tokenizer: GPT2_TOKENIZER, notes };
}
