import { UserError } from '../errors.js';
import { samplingGenerator } from '../models/factory.js';
import { generateTokens } from '../models/generate.js';
import { loadBackend } from '../node/backends.js';
import { loadForSampling, resolveModelSource } from '../node/pretrained.js';
import { readFileBounded } from '../node/files.js';
import { decodeUtf8Strict } from '../tokenizers/bytes.js';
import { parseSeed, seedNote } from '../train/seed.js';
import { loadTokenizer } from '../node/tokenizers.js';
import { IntTensor } from '../tensor/tensor.js';
import { intFlag, numberFlag, parseArgs, takeFlags } from './args.js';

export const sampleUsage = `usage: yorick sample [--init_from resume|gpt2|PATH] [--out_dir DIR] [--start TEXT|FILE:path]
                     [--num_samples N] [--max_new_tokens N] [--temperature T] [--top_k K] [--top_p P] [--seed S]

Generates text, printing it as it is generated, from:
  --init_from=resume (default): the checkpoint in out_dir (default out-shakespeare-char-cpu):
      yorick's ckpt.safetensors, or nanoGPT's ckpt.pt
  --init_from=PATH: a yorick ckpt.safetensors, a nanoGPT ckpt.pt, or a folder holding
      model.safetensors + config.json (GPT-2 in Hugging Face's layout)
  --init_from=gpt2 (gpt2-medium, gpt2-large, gpt2-xl): GPT-2's weights from the Hugging Face
      cache ($HF_HOME/hub, ~/.cache/huggingface/hub) or a folder of that name; never downloaded
A nanoGPT checkpoint's characters come from <data_dir>/<dataset>/meta.pkl (--data_dir, default
data), else GPT-2's tokenizer is used, as nanoGPT's sample.py does.
Defaults as nanoGPT's sample.py: start "\\n", 10 samples of 500 tokens, temperature 0.8, top_k
200, seed 1337. --temperature=0 is greedy; --top_k=none keeps every token; --top_p keeps the
nucleus; --device picks the compute backend (auto, webgpu, native,
wasm, reference).`;

/** Bounds on what one command may ask for: a prompt file, samples, tokens per sample. */
const MAX_START_BYTES = 1 << 20;
const MAX_SAMPLES = 10_000;
const MAX_NEW_TOKENS = 1_000_000;

export async function sampleCommand(argv: string[]): Promise<void> {
  const { flags, positional } = parseArgs(argv);
  if (flags.help) return void console.log(sampleUsage);
  if (positional.length) throw new UserError(`yorick sample: unexpected argument "${positional[0]}"\n${sampleUsage}`);
  const f = takeFlags(flags, ['out_dir', 'start', 'num_samples', 'max_new_tokens', 'temperature', 'top_k', 'top_p', 'seed', 'device', 'init_from', 'data_dir'] as const, 'sample');
  const outDir = f.out_dir ?? 'out-shakespeare-char-cpu';
  const numSamples = intFlag(f.num_samples, 'num_samples', 10, 1, MAX_SAMPLES);
  const maxNewTokens = intFlag(f.max_new_tokens, 'max_new_tokens', 500, 0, MAX_NEW_TOKENS);
  const temperature = numberFlag(f.temperature, 'temperature', 0.8);
  // nanoGPT's default keeps the 200 most likely tokens; --top_k=none keeps them all
  const topK = f.top_k === 'none' ? null : intFlag(f.top_k, 'top_k', 200, 1);
  const topP = f.top_p === undefined ? null : numberFlag(f.top_p, 'top_p', 1);
  const seed = f.seed === undefined ? 1337 : parseSeed(f.seed, '--seed');
  const note = seedNote(seed);
  if (note) console.error(note);
  if (temperature < 0) throw new UserError(`--temperature must be >= 0, got ${temperature}`);
  if (topP !== null && !(topP > 0 && topP <= 1)) throw new UserError(`--top_p must be in (0, 1], got ${topP}`);

  let start = f.start ?? '\n';
  if (start.startsWith('FILE:')) {
    const path = start.slice(5);
    start = decodeUtf8Strict(readFileBounded(path, MAX_START_BYTES, '--start file'), `--start file ${path}`);
  }
  const backend = await loadBackend(f.device ?? 'auto');
  const source = resolveModelSource(f.init_from ?? 'resume', outDir);
  const loaded = loadForSampling(source, { backend, dataDir: f.data_dir ?? 'data' });
  for (const line of loaded.notes) console.error(`note: ${line}`);
  const { model } = loaded;
  // seeded, then the model built, as sample.py does: the same seed gives nanoGPT's samples
  const generator = samplingGenerator(model.spec(), seed);
  const tokenizer = loadTokenizer(loaded.tokenizer);
  let ids: number[];
  try {
    ids = tokenizer.encode(start);
  } catch (e) {
    throw new UserError(`--start: ${(e as Error).message}`);
  }
  if (ids.length === 0) throw new UserError('--start encodes to no tokens; give at least one character');
  for (let s = 0; s < numSamples; s++) {
    const decoder = tokenizer.streamDecoder();
    process.stdout.write(start);
    const idx = new IntTensor(Int32Array.from(ids), [1, ids.length]);
    for await (const next of generateTokens(model, idx, maxNewTokens, { temperature, topK, topP }, generator)) {
      process.stdout.write(decoder.push(next));
    }
    process.stdout.write(decoder.flush() + '\n---------------\n');
  }
}
