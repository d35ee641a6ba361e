/**
 * Looking inside a model for one context: the distribution its next token is drawn from, and
 * the attention weights of every layer and head. Host arrays out; the model's mode is restored.
 */
import { IntTensor, noGrad, type Tensor, tidy } from '../tensor/tensor.js';
import type { GPT } from './gpt.js';
import type { LanguageModel } from './model.js';
import { checkSamplingOptions, samplingDistribution, type SamplingOptions } from './sampling.js';

/** The last block_size ids as a [1, T] batch (the context generate would feed). */
function contextOf(model: LanguageModel, ids: ArrayLike<number>): IntTensor {
  if (ids.length < 1) throw new Error('the context is empty: give at least one token');
  const T = Math.min(ids.length, model.blockSize);
  return new IntTensor(Int32Array.from(Array.prototype.slice.call(ids, ids.length - T)), [1, T]);
}

async function inEvalMode<T>(model: LanguageModel, fn: () => Promise<T>): Promise<T> {
  const was = model.training;
  model.eval();
  try {
    return await fn();
  } finally {
    model.train(was);
  }
}

/**
 * The probabilities of the token that follows `ids` under the sampling options (what
 * generateTokens draws from at this point): [vocab_size], summing to 1.
 */
export function nextTokenDistribution(model: LanguageModel, ids: ArrayLike<number>, opts: SamplingOptions = {}): Promise<Float32Array> {
  checkSamplingOptions(opts);
  const idx = contextOf(model, ids);
  return inEvalMode(model, async () => {
    const logits = noGrad(() => tidy(() => model.forward(idx).logits)); // (1, T or 1, V)
    const values = await logits.data();
    logits.dispose();
    return samplingDistribution(values.subarray(values.length - model.vocabSize), opts);
  });
}

export interface AttentionMaps {
  /** The tokens the maps are over (the last block_size of the context). */
  ids: number[];
  nLayer: number;
  nHead: number;
  /** One [n_head, T, T] array a layer: maps[l][(h * T + t) * T + s] = weight of position s for position t. */
  maps: Float32Array[];
}

/** The attention weights of every layer and head of a GPT for the context `ids`. */
export function attentionMaps(model: GPT, ids: ArrayLike<number>): Promise<AttentionMaps> {
  const idx = contextOf(model, ids);
  return inEvalMode(model, async () => {
    const probs: Tensor[] = noGrad(() => tidy(() => model.attentionProbs(idx)));
    try {
      const maps = await Promise.all(probs.map((p) => p.data()));
      return { ids: Array.from(idx.data), nLayer: model.config.n_layer, nHead: model.config.n_head, maps };
    } finally {
      probs.forEach((p) => p.dispose());
    }
  });
}
