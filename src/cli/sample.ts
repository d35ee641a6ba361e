import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { generateTokens } from '../models/generate.js';
import { loadBackend } from '../node/backends.js';
import { loadCheckpointFile } from '../node/checkpoint.js';
import { loadTokenizer } from '../node/tokenizers.js';
import { Rng } from '../tensor/rng.js';
import { IntTensor } from '../tensor/tensor.js';
import { intFlag, numberFlag, parseArgs, takeFlags } from './args.js';
import { CHECKPOINT_FILE } from './train.js';

export const sampleUsage = `usage: yorick sample [--out_dir DIR] [--start TEXT|FILE:path] [--num_samples N]
                     [--max_new_tokens N] [--temperature T] [--top_k K] [--top_p P] [--seed S]

Generates text from the checkpoint in out_dir (default out-shakespeare-char-cpu), printing it as
it is generated. Defaults as nanoGPT's sample.py: start "\\n", 10 samples of 500 tokens,
temperature 0.8, top_k 200, seed 1337. --temperature=0 is greedy; --top_k=none keeps every
token; --top_p keeps the nucleus; --device picks the compute backend (auto, webgpu, native,
wasm, reference).`;

export async function sampleCommand(argv: string[]): Promise<void> {
  const { flags, positional } = parseArgs(argv);
  if (flags.help) return void console.log(sampleUsage);
  if (positional.length) throw new UserError(`yorick sample: unexpected argument "${positional[0]}"\n${sampleUsage}`);
  const f = takeFlags(flags, ['out_dir', 'start', 'num_samples', 'max_new_tokens', 'temperature', 'top_k', 'top_p', 'seed', 'device'] as const, 'sample');
  const outDir = f.out_dir ?? 'out-shakespeare-char-cpu';
  const numSamples = intFlag(f.num_samples, 'num_samples', 10, 1);
  const maxNewTokens = intFlag(f.max_new_tokens, 'max_new_tokens', 500, 0);
  const temperature = numberFlag(f.temperature, 'temperature', 0.8);
  // nanoGPT's default keeps the 200 most likely tokens; --top_k=none keeps them all
  const topK = f.top_k === 'none' ? null : intFlag(f.top_k, 'top_k', 200, 1);
  const topP = f.top_p === undefined ? null : numberFlag(f.top_p, 'top_p', 1);
  const seed = intFlag(f.seed, 'seed', 1337, 0);
  if (temperature < 0) throw new UserError(`--temperature must be >= 0, got ${temperature}`);
  if (topP !== null && !(topP > 0 && topP <= 1)) throw new UserError(`--top_p must be in (0, 1], got ${topP}`);

  let start = f.start ?? '\n';
  if (start.startsWith('FILE:')) {
    const path = start.slice(5);
    if (!existsSync(path)) throw new UserError(`--start file not found: ${path}`);
    start = readFileSync(path, 'utf8');
  }
  const backend = await loadBackend(f.device ?? 'auto');
  const { model, state } = loadCheckpointFile(join(outDir, CHECKPOINT_FILE), { backend });
  const tokenizer = loadTokenizer(state.tokenizer);
  let ids: number[];
  try {
    ids = tokenizer.encode(start);
  } catch (e) {
    throw new UserError(`--start: ${(e as Error).message}`);
  }
  if (ids.length === 0) throw new UserError('--start encodes to no tokens; give at least one character');
  const rng = new Rng(seed);
  for (let s = 0; s < numSamples; s++) {
    const decoder = tokenizer.streamDecoder();
    process.stdout.write(start);
    const idx = new IntTensor(Int32Array.from(ids), [1, ids.length]);
    for await (const next of generateTokens(model, idx, maxNewTokens, { temperature, topK, topP }, rng)) {
      process.stdout.write(decoder.push(next));
    }
    process.stdout.write(decoder.flush() + '\n---------------\n');
  }
}
