import type { Backend } from '../backend/backend.js';
import { defaultBackend } from '../backend/default.js';
import { Embedding, LayerNorm, Linear, type ParamInit } from '../nn/layers.js';
import { Module, ModuleList } from '../nn/module.js';
import { causalSelfAttention, causalSelfAttentionProbs } from '../ops/attention.js';
import { defaultDropoutRng, dropout, DropoutSource } from '../ops/dropout.js';
import { add, gelu } from '../ops/elementwise.js';
import { linear } from '../ops/linear.js';
import { crossEntropy } from '../ops/loss.js';
import { lastPosition } from '../ops/slice.js';
import { TorchGenerator } from '../tensor/torch-generator.js';
import { IntTensor, isGradEnabled, Tensor } from '../tensor/tensor.js';
import { cachedAttention, KVCache } from './kv-cache.js';
import { initNanoGptWeights, skipNanoGptInit } from './nanogpt-init.js';
import type { LanguageModel, ModelOptions, ModelOutput, ModelSpec } from './model.js';

/** nanoGPT's GPTConfig, with its field names and defaults (GPT-2 124M). */
export interface GPTConfig {
  block_size: number;
  vocab_size: number;
  n_layer: number;
  n_head: number;
  n_embd: number;
  dropout: number;
  /** Biases in the Linears and LayerNorms. */
  bias: boolean;
  /** The MLP's GELU: exact (erf), as nanoGPT, or 'gelu_new' (tanh approximation), as GPT-2's own weights need. Default 'gelu'. */
  activation?: 'gelu' | 'gelu_new';
}

export const defaultGPTConfig: GPTConfig = {
  block_size: 1024, vocab_size: 50304, n_layer: 12, n_head: 12, n_embd: 768, dropout: 0, bias: true,
};

export function checkGPTConfig(c: GPTConfig): void {
  for (const k of ['block_size', 'vocab_size', 'n_layer', 'n_head', 'n_embd'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.n_embd % c.n_head !== 0) throw new Error(`n_embd (${c.n_embd}) must be divisible by n_head (${c.n_head})`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${c.dropout}`);
  if (c.activation !== undefined && c.activation !== 'gelu' && c.activation !== 'gelu_new') throw new Error(`activation must be 'gelu' or 'gelu_new', got ${JSON.stringify(c.activation)}`);
}

class CausalSelfAttention extends Module {
  readonly c_attn: Linear;
  readonly c_proj: Linear;
  constructor(private readonly config: GPTConfig, init: ParamInit, private readonly drop: DropoutSource) {
    super();
    const { n_embd, bias } = config;
    this.c_attn = this.registerModule('c_attn', new Linear(n_embd, 3 * n_embd, bias, init));
    this.c_proj = this.registerModule('c_proj', new Linear(n_embd, n_embd, bias, init));
  }
  /** probes: when given, the attention probabilities (B, nh, T, T) are pushed onto it (inference only). */
  forward(x: Tensor, cache?: { kv: KVCache; layer: number }, probes?: Tensor[]): Tensor {
    const p = this.training ? this.config.dropout : 0;
    const qkv = this.c_attn.forward(x); // (B, T, 3C)
    let y: Tensor;
    if (probes) {
      const r = causalSelfAttentionProbs(qkv, this.config.n_head); // y (B, T, C), att (B, nh, T, T)
      probes.push(r.att);
      y = r.y;
    } else if (cache && cache.kv.length > 0) {
      y = cachedAttention(qkv, cache.kv, cache.layer, this.config.n_head); // (B, T, C), keys from the cache too
    } else {
      y = causalSelfAttention(qkv, this.config.n_head, p, this.drop); // (B, T, C)
      cache?.kv.store(cache.layer, qkv); // a prefill runs the fused kernel and fills the cache
    }
    return dropout(this.c_proj.forward(y), p, this.training, this.drop);
  }
}

class MLP extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;
  constructor(private readonly config: GPTConfig, init: ParamInit, private readonly drop: DropoutSource) {
    super();
    const { n_embd, bias } = config;
    this.c_fc = this.registerModule('c_fc', new Linear(n_embd, 4 * n_embd, bias, init));
    this.c_proj = this.registerModule('c_proj', new Linear(4 * n_embd, n_embd, bias, init));
  }
  forward(x: Tensor): Tensor {
    const h = gelu(this.c_fc.forward(x), this.config.activation === 'gelu_new' ? 'tanh' : 'none'); // (B, T, 4C)
    return dropout(this.c_proj.forward(h), this.config.dropout, this.training, this.drop);
  }
}

class Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: MLP;
  constructor(config: GPTConfig, init: ParamInit, drop: DropoutSource) {
    super();
    this.ln_1 = this.registerModule('ln_1', new LayerNorm(config.n_embd, config.bias, init.backend));
    this.attn = this.registerModule('attn', new CausalSelfAttention(config, init, drop));
    this.ln_2 = this.registerModule('ln_2', new LayerNorm(config.n_embd, config.bias, init.backend));
    this.mlp = this.registerModule('mlp', new MLP(config, init, drop));
  }
  forward(x: Tensor, cache?: { kv: KVCache; layer: number }, probes?: Tensor[]): Tensor {
    x = add(x, this.attn.forward(this.ln_1.forward(x), cache, probes));
    return add(x, this.mlp.forward(this.ln_2.forward(x)));
  }
}

class Transformer extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly h: ModuleList<Block>;
  readonly ln_f: LayerNorm;
  constructor(config: GPTConfig, init: ParamInit, drop: DropoutSource) {
    super();
    this.wte = this.registerModule('wte', new Embedding(config.vocab_size, config.n_embd, init));
    this.wpe = this.registerModule('wpe', new Embedding(config.block_size, config.n_embd, init));
    this.h = this.registerModule('h', new ModuleList(Array.from({ length: config.n_layer }, () => new Block(config, init, drop))));
    this.ln_f = this.registerModule('ln_f', new LayerNorm(config.n_embd, config.bias, init.backend));
  }
}

/**
 * nanoGPT's GPT: token + position embeddings, pre-LayerNorm blocks, lm_head tied to wte. Its
 * initial weights are nanoGPT's for the same seed: drawn from the generator exactly as
 * GPT.__init__ draws them (module defaults, then _init_weights, then the scaled c_proj pass).
 * Dropout draws from the same generator afterwards, as in nanoGPT's train.py (with the 'torch'
 * dropout stream, the default on CPU backends; 'device' on WebGPU).
 */
export class GPT extends Module implements LanguageModel {
  readonly config: GPTConfig;
  readonly transformer: Transformer;
  readonly generator: TorchGenerator;
  readonly backend: Backend;
  /** The generator and stream dropout masks come from. */
  readonly dropoutSource: DropoutSource;

  constructor(config: Partial<GPTConfig> & Pick<GPTConfig, 'vocab_size'>, opts: ModelOptions = {}) {
    super();
    this.config = { ...defaultGPTConfig, ...config };
    checkGPTConfig(this.config);
    this.generator = opts.generator ?? new TorchGenerator(opts.seed ?? 1337);
    this.backend = opts.backend ?? defaultBackend();
    this.dropoutSource = new DropoutSource(this.generator, opts.dropoutRng ?? defaultDropoutRng(this.backend));
    this.transformer = this.registerModule('transformer', new Transformer(this.config, { backend: this.backend }, this.dropoutSource));
    // lm_head.weight is wte.weight (weight tying); listed once, as transformer.wte.weight
    this.registerParameter('lm_head.weight', this.transformer.wte.weight);
    if (opts.initWeights === false) {
      skipNanoGptInit(this.config, this.generator);
      return;
    }
    const weights = initNanoGptWeights(this.config, this.generator);
    this.loadStateDict(new Map([...this.namedParameters()].map(([name, p]) => [name, { shape: p.shape, data: weights.get(name)! }])));
  }

  get blockSize(): number {
    return this.config.block_size;
  }

  get vocabSize(): number {
    return this.config.vocab_size;
  }

  /** An empty cache for sampling `batch` sequences with forward(idx, undefined, cache). */
  newCache(batch: number): KVCache {
    return new KVCache(this.backend, batch, this.config.block_size, this.config.n_embd, this.config.n_layer);
  }

  spec(): ModelSpec {
    return { kind: 'gpt', args: { ...this.config } };
  }

  /** Parameters without the position embeddings, as nanoGPT reports them. */
  numParamsNonEmbedding(): number {
    return this.numParams() - this.transformer.wpe.weight.size;
  }

  /**
   * idx [B, T] -> logits [B, T, V] and the mean cross-entropy against targets [B, T].
   * Without targets only the last position's logits are computed: [B, 1, V].
   */
  forward(idx: IntTensor, targets?: IntTensor, cache?: KVCache): ModelOutput {
    if (cache && (targets || isGradEnabled())) throw new Error('GPT.forward with a KV cache is for inference: call it under noGrad() and without targets');
    const x = this.hidden(idx, cache); // (B, T, C)
    const wte = this.transformer.wte;
    if (targets) {
      const logits = linear(x, wte.weight); // (B, T, V)
      return { logits, loss: crossEntropy(logits, targets) };
    }
    return { logits: linear(lastPosition(x), wte.weight), loss: null }; // (B, 1, V)
  }

  /**
   * The attention probabilities of every layer for idx [B, T]: one [B, n_head, T, T] tensor a
   * layer, row t holding the weights position t gives to positions 0..t. Inference only: call
   * it under noGrad() (and tidy(), keeping what it returns).
   */
  attentionProbs(idx: IntTensor): Tensor[] {
    if (isGradEnabled()) throw new Error('GPT.attentionProbs is for inference: call it under noGrad()');
    const probes: Tensor[] = [];
    this.hidden(idx, undefined, probes);
    return probes;
  }

  /** The blocks and the final LayerNorm: idx [B, T] -> (B, T, C). */
  private hidden(idx: IntTensor, cache?: KVCache, probes?: Tensor[]): Tensor {
    if (idx.shape.length !== 2) throw new Error(`GPT.forward: idx must be [B, T], got [${idx.shape.join(', ')}]`);
    const T = idx.shape[1];
    const T0 = cache ? cache.length : 0; // position of the first new token
    if (T0 + T > this.config.block_size) throw new Error(`Cannot forward sequence of length ${T0 + T}, block size is only ${this.config.block_size}`);
    const { wte, wpe, h, ln_f } = this.transformer;
    const pos = new IntTensor(Int32Array.from({ length: T }, (_, i) => T0 + i), [T]);
    const tokEmb = wte.forward(idx); // (B, T, C)
    const posEmb = wpe.forward(pos); // (T, C)
    let x = dropout(add(tokEmb, posEmb), this.config.dropout, this.training, this.dropoutSource);
    h.items.forEach((block, layer) => {
      x = block.forward(x, cache && { kv: cache, layer }, probes);
    });
    if (cache) cache.length += T;
    return ln_f.forward(x);
  }
}
