/**
 * The one place where weights read by the format layer (plain Float32Arrays under nanoGPT's
 * names) become a yorick model on a backend, and where a model's weights are read back.
 */
import { GPT, type GPTConfig } from '../models/gpt.js';
import type { ModelOptions } from '../models/model.js';
import type { NanoGptModelArgs, StateDict } from './gpt-layout.js';

export type LoadableArgs = NanoGptModelArgs & { activation?: GPTConfig['activation'] };

/**
 * A parameter's values by nanoGPT name and shape, [out, in] for Linear weights. Called once per
 * parameter in named_parameters() order, so that a loader can read a file one tensor at a time
 * and let go of each one as soon as it is on the backend.
 */
export type TensorReader = (name: string, shape: readonly number[]) => Float32Array;

/**
 * yorick's GPT with the weights `read` gives (dropout as the args say; call .eval() to sample).
 * The model is built without computing initial weights (its generator still moves on past the
 * initialization's draws, standing where nanoGPT's does once a loaded model is built).
 */
export function gptFromTensors(args: LoadableArgs, read: TensorReader, opts: ModelOptions = {}): GPT {
  const model = new GPT({ ...args }, { ...opts, initWeights: false });
  for (const [name, p] of model.namedParameters()) {
    const data = read(name, p.shape);
    if (data.length !== p.size) throw new Error(`tensor "${name}" has ${data.length} values, the model expects [${p.shape.join(', ')}] (${p.size})`);
    p.backend.write(p.buf, data); // engine seam: host values onto the parameter's backend
  }
  return model;
}

/** yorick's GPT with the given weights (dropout as the args say; call .eval() to sample). */
export function gptFromStateDict(args: LoadableArgs, stateDict: StateDict, opts: ModelOptions = {}): GPT {
  return gptFromTensors(args, (name, shape) => {
    const src = stateDict.get(name);
    if (!src) throw new Error(`state dict has no tensor "${name}"`);
    if (src.shape.length !== shape.length || src.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`tensor "${name}" has shape [${src.shape.join(', ')}], the model expects [${shape.join(', ')}]`);
    }
    return src.data;
  }, opts);
}

/** A GPT's weights (host copies, read from its backend) and config as the format layer takes them. */
export async function gptStateDict(model: GPT): Promise<{ modelArgs: LoadableArgs; stateDict: StateDict }> {
  const { n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout, activation } = model.config;
  const stateDict: StateDict = new Map();
  for (const [name, p] of model.namedParameters()) stateDict.set(name, { shape: [...p.shape], data: await p.data() });
  return { modelArgs: { n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout, ...(activation ? { activation } : {}) }, stateDict };
}
