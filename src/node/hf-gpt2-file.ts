/**
 * GPT-2 from Hugging Face's files on disk: model.safetensors + config.json in a folder the user
 * names, or in the Hugging Face cache when the user already has them there (yorick never
 * downloads weights). The weights are read one tensor at a time, straight onto the model's
 * backend: memory holds the model plus one tensor, never the file twice.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { gpt2ConfigToModelArgs, hfGpt2Layout, hfTensorValues, type HfGpt2, type HfGpt2Layout } from '../io/hf-gpt2.js';
import { gptFromTensors } from '../io/load-gpt.js';
import { SafetensorsError } from '../io/safetensors.js';
import { checkTied } from '../io/gpt-layout.js';
import type { GPT } from '../models/gpt.js';
import type { ModelOptions } from '../models/model.js';
import { decodeUtf8Strict } from '../tokenizers/bytes.js';
import { readFileBounded } from './files.js';
import { openSafetensorsFile } from './safetensors-file.js';

/** The GPT-2 sizes OpenAI released (nanoGPT's from_pretrained names). */
export const GPT2_NAMES = ['gpt2', 'gpt2-medium', 'gpt2-large', 'gpt2-xl'] as const;

export const isGpt2Name = (s: string): boolean => (GPT2_NAMES as readonly string[]).includes(s);

export interface HfModelFiles {
  weights: string;
  config: string;
}

const WEIGHTS = 'model.safetensors';
const CONFIG = 'config.json';

/** Hugging Face's hub cache, as huggingface_hub finds it: $HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub. */
export function hfHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface', 'hub');
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
const hasFiles = (dir: string) => existsSync(join(dir, WEIGHTS)) && existsSync(join(dir, CONFIG));

/** The snapshot folders of a cached model repo: the one refs/main names first, then the others. */
function snapshots(repoDir: string): string[] {
  const dir = join(repoDir, 'snapshots');
  if (!isDir(dir)) return [];
  const all = readdirSync(dir).sort().map((s) => join(dir, s));
  let main: string | undefined;
  try {
    main = join(dir, readFileSync(join(repoDir, 'refs', 'main'), 'utf8').trim());
  } catch {
    main = undefined;
  }
  return main && all.includes(main) ? [main, ...all.filter((s) => s !== main)] : all;
}

/**
 * Where a GPT-2's files are: `spec` is a folder holding model.safetensors and config.json, a
 * model.safetensors file (config.json beside it), or a GPT-2 name (gpt2, gpt2-medium, ...)
 * looked up as transformers does: a folder of that name here, then the Hugging Face cache
 * (models--gpt2 or models--openai-community--gpt2). The error says where it looked.
 */
export function findHfModel(spec: string, env: NodeJS.ProcessEnv = process.env): HfModelFiles {
  if (!isGpt2Name(spec)) {
    if (!existsSync(spec)) throw new UserError(`${spec} does not exist; expected a folder holding ${WEIGHTS} and ${CONFIG}, or one of ${GPT2_NAMES.join(', ')}`);
    const dir = isDir(spec) ? spec : dirname(spec);
    const weights = isDir(spec) ? join(spec, WEIGHTS) : spec;
    if (!existsSync(weights)) {
      const bin = existsSync(join(dir, 'pytorch_model.bin')) ? ` (it holds pytorch_model.bin; yorick reads the ${WEIGHTS} form of the weights)` : '';
      throw new UserError(`${spec}: no ${WEIGHTS} in ${dir}${bin}`);
    }
    if (!existsSync(join(dir, CONFIG))) throw new UserError(`${spec}: no ${CONFIG} beside ${weights}; Hugging Face's GPT-2 keeps its shape there`);
    return { weights, config: join(dir, CONFIG) };
  }
  const cache = hfHubCacheDir(env);
  const repos = [`models--${spec}`, `models--openai-community--${spec}`].map((r) => join(cache, r));
  const candidates = [resolve(spec), ...repos.flatMap(snapshots)];
  const found = candidates.find((d) => isDir(d) && hasFiles(d));
  if (found) return { weights: join(found, WEIGHTS), config: join(found, CONFIG) };
  const partial = candidates.filter((d) => isDir(d) && existsSync(join(d, 'pytorch_model.bin')));
  throw new UserError(`GPT-2 weights "${spec}" not found (yorick never downloads weights). Looked for ${WEIGHTS} and ${CONFIG} in:\n` +
    [resolve(spec), ...repos.map((r) => join(r, 'snapshots', '*'))].map((p) => `  ${p}`).join('\n') +
    (partial.length ? `\n${partial[0]} has pytorch_model.bin only; yorick reads ${WEIGHTS}.` : '') +
    `\nFetch them where you can download (e.g. huggingface-cli download openai-community/${spec} ${WEIGHTS} ${CONFIG}), ` +
    `then pass --init_from=FOLDER, or set HF_HOME to the cache that holds them.`);
}

export interface HfLoadOptions extends ModelOptions {
  /** Dropout of the built model (default: 0, GPT-2's weights for sampling). */
  dropout?: number;
  /** Crop the position table to this many positions, as nanoGPT's crop_block_size. */
  blockSize?: number;
}

export interface LoadedHfGpt2 {
  model: GPT;
  /** The model args as the files give them (before any crop). */
  layout: HfGpt2Layout;
}

/** The model args config.json gives (checked as GPT-2's). */
export function gpt2ModelArgs(files: HfModelFiles): HfGpt2['modelArgs'] {
  return gpt2ConfigToModelArgs(decodeUtf8Strict(readFileBounded(files.config, 1 << 20, CONFIG), files.config), files.config);
}

/** Reads a GPT-2's files onto a model, one tensor at a time; every bad input is a UserError naming the file. */
export function loadHfGpt2(files: HfModelFiles, opts: HfLoadOptions = {}): LoadedHfGpt2 {
  const configText = decodeUtf8Strict(readFileBounded(files.config, 1 << 20, CONFIG), files.config);
  let file;
  try {
    file = openSafetensorsFile(files.weights, files.weights);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new UserError(e.message);
    throw e;
  }
  try {
    const layout = hfGpt2Layout(file.header.entries, configText, files.weights);
    const full = layout.modelArgs;
    const blockSize = opts.blockSize ?? full.block_size;
    if (!(Number.isInteger(blockSize) && blockSize >= 1 && blockSize <= full.block_size)) {
      throw new UserError(`block_size ${blockSize} is more than ${basename(files.weights)}'s ${full.block_size} positions (n_positions in ${files.config}); use --block_size=${full.block_size} or less`);
    }
    const entry = (stored: string) => file.header.entries.find((e) => e.name === stored)!;
    const read = (place: { stored: string }) => {
      try {
        return file.read(entry(place.stored));
      } catch (e) {
        if (e instanceof SafetensorsError) throw new UserError(e.message);
        throw e;
      }
    };
    const args = { ...full, block_size: blockSize, dropout: opts.dropout ?? 0 };
    const model = gptFromTensors(args, (name) => {
      const place = layout.params.get(name)!;
      const values = hfTensorValues(place, read(place));
      if (name === 'transformer.wte.weight' && layout.lmHead) {
        checkTied({ shape: layout.lmHead.shape, data: hfTensorValues(layout.lmHead, read(layout.lmHead)) }, { shape: place.shape, data: values }, files.weights);
      }
      // nanoGPT's crop_block_size keeps the first block_size rows of the position table
      return name === 'transformer.wpe.weight' ? values.subarray(0, blockSize * full.n_embd) : values;
    }, opts);
    return { model, layout };
  } finally {
    file.close();
  }
}
