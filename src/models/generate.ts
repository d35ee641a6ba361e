import type { TorchGenerator } from '../tensor/torch-generator.js';
import { IntTensor, noGrad, tidy } from '../tensor/tensor.js';
import type { LanguageModel } from './model.js';
import { checkSamplingOptions, sampleFromLogits, type SamplingOptions } from './sampling.js';

export interface GenerateOptions extends SamplingOptions {
  /** Stops generation between tokens (the generator then returns). */
  signal?: AbortSignal;
  /**
   * Keep keys and values of past positions (default true where the model can): each step then
   * feeds one token. Once the context outgrows block_size every position shifts each step, so
   * the cropped window is fed whole, exactly as without the cache.
   */
  useCache?: boolean;
}

/**
 * Yields new tokens one at a time for each row of idx [B, T]: the context is cropped to the
 * model's block_size, the last position's logits are sampled. Each yield is [B] token ids. Draws
 * come from `generator`, by default the model's own stream (as the lecture's generate continues
 * the stream that built the model).
 */
export async function* generateTokens(model: LanguageModel, idx: IntTensor, maxNewTokens: number,
  opts: GenerateOptions = {}, generator: TorchGenerator = model.generator): AsyncGenerator<Int32Array> {
  checkSamplingOptions(opts);
  if (idx.shape.length !== 2 || idx.shape[1] < 1) throw new Error(`generate: idx must be [B, T] with T >= 1, got [${idx.shape.join(', ')}]`);
  const [B] = idx.shape;
  const rows: number[][] = Array.from({ length: B }, (_, b) => Array.from(idx.data.subarray(b * idx.shape[1], (b + 1) * idx.shape[1])));
  const cache = opts.useCache !== false ? model.newCache?.(B) : undefined;
  const wasTraining = model.training;
  model.eval();
  try {
    for (let n = 0; n < maxNewTokens && !opts.signal?.aborted; n++) {
      const len = rows[0].length;
      // Within block_size the cache holds all but the newest token: feed only that one. Past
      // it every position shifts each step, so the cropped window goes through whole, uncached.
      const stepCache = cache && len <= model.blockSize ? cache : undefined;
      const incremental = !!stepCache && stepCache.length > 0 && stepCache.length === len - 1;
      if (stepCache && !incremental) stepCache.reset();
      const T = incremental ? 1 : Math.min(len, model.blockSize);
      const cond = new IntTensor(Int32Array.from(rows.flatMap((r) => r.slice(r.length - T))), [B, T]);
      const logits = noGrad(() => tidy(() => model.forward(cond, undefined, stepCache).logits));
      // GPT gives [B, 1, V], the bigram [B, T, V]: each row's last V values are the next token's logits
      const V = logits.shape[logits.ndim - 1], perRow = logits.size / B;
      const values = await logits.data();
      logits.dispose();
      const next = new Int32Array(B);
      for (let b = 0; b < B; b++) next[b] = sampleFromLogits(values.subarray((b + 1) * perRow - V, (b + 1) * perRow), opts, generator);
      rows.forEach((r, b) => r.push(next[b]));
      yield next;
    }
  } finally {
    cache?.dispose();
    model.train(wasTraining);
  }
}

/** nanoGPT's model.generate: idx [B, T] -> [B, T + maxNewTokens]. */
export async function generate(model: LanguageModel, idx: IntTensor, maxNewTokens: number, opts: GenerateOptions = {}, generator?: TorchGenerator): Promise<IntTensor> {
  const [B, T] = idx.shape;
  const out = new Int32Array(B * (T + maxNewTokens));
  for (let b = 0; b < B; b++) out.set(idx.data.subarray(b * T, (b + 1) * T), b * (T + maxNewTokens));
  let n = 0;
  for await (const next of generateTokens(model, idx, maxNewTokens, opts, generator)) {
    for (let b = 0; b < B; b++) out[b * (T + maxNewTokens) + T + n] = next[b];
    n++;
  }
  return new IntTensor(out, [B, T + maxNewTokens]);
}
