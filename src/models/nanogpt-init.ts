/**
 * nanoGPT's initial weights, drawn from a TorchGenerator in the order `GPT.__init__` draws them,
 * so that the same seed gives the same weights as nanoGPT on PyTorch's CPU:
 * 1. construction: every nn.Embedding (normal_) and nn.Linear (kaiming uniform weight, uniform
 *    bias) draws its default initialization as its module is built: wte, wpe, then per block
 *    attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj, then lm_head (whose matrix wte then shares);
 * 2. `self.apply(_init_weights)`, children before parents in registration order: normal_(0, 0.02)
 *    on each Embedding and Linear weight, zeros on their biases; the tied matrix is drawn twice,
 *    as wte and then as lm_head, and keeps the second;
 * 3. normal_(0, 0.02 / sqrt(2 * n_layer)) on every `c_proj.weight`, in named_parameters() order.
 * LayerNorms start at ones and zeros and draw nothing. Plain arrays in, plain arrays out.
 */
import type { TorchGenerator } from '../tensor/torch-generator.js';
import type { GPTConfig } from './gpt.js';

export type InitConfig = Pick<GPTConfig, 'n_layer' | 'n_embd' | 'block_size' | 'vocab_size' | 'bias'>;

/** One use of the stream (or a constant fill), on the parameter named as named_parameters() names it. */
export type InitStep =
  | { op: 'embedding'; name: string; shape: [number, number] }
  | { op: 'linear'; name: string; bias: string | null; shape: [out: number, inFeatures: number] }
  | { op: 'normal'; name: string; std: number }
  | { op: 'fill'; name: string; value: 0 | 1 };

/** Every parameter as named_parameters() lists it (lm_head.weight is transformer.wte.weight), with its shape. */
export function nanoGptParameterShapes(c: InitConfig): Map<string, number[]> {
  const C = c.n_embd;
  const shapes = new Map<string, number[]>([['transformer.wte.weight', [c.vocab_size, C]], ['transformer.wpe.weight', [c.block_size, C]]]);
  const linear = (name: string, out: number, inn: number): void => {
    shapes.set(`${name}.weight`, [out, inn]);
    if (c.bias) shapes.set(`${name}.bias`, [out]);
  };
  const layerNorm = (name: string): void => {
    shapes.set(`${name}.weight`, [C]);
    if (c.bias) shapes.set(`${name}.bias`, [C]);
  };
  for (let l = 0; l < c.n_layer; l++) {
    const h = `transformer.h.${l}`;
    layerNorm(`${h}.ln_1`);
    linear(`${h}.attn.c_attn`, 3 * C, C);
    linear(`${h}.attn.c_proj`, C, C);
    layerNorm(`${h}.ln_2`);
    linear(`${h}.mlp.c_fc`, 4 * C, C);
    linear(`${h}.mlp.c_proj`, C, 4 * C);
  }
  layerNorm('transformer.ln_f');
  return shapes;
}

/** The steps of nanoGPT's GPT.__init__ in the order they happen. */
export function nanoGptInitOrder(c: InitConfig): InitStep[] {
  const C = c.n_embd, V = c.vocab_size;
  const WTE = 'transformer.wte.weight'; // lm_head.weight is this same matrix once tied
  const blockLinears = (l: number): [string, number, number][] => [
    [`transformer.h.${l}.attn.c_attn`, 3 * C, C],
    [`transformer.h.${l}.attn.c_proj`, C, C],
    [`transformer.h.${l}.mlp.c_fc`, 4 * C, C],
    [`transformer.h.${l}.mlp.c_proj`, C, 4 * C],
  ];
  const layers = Array.from({ length: c.n_layer }, (_, l) => l);
  const steps: InitStep[] = [];
  const layerNormFills = (name: string): void => {
    steps.push({ op: 'fill', name: `${name}.weight`, value: 1 });
    if (c.bias) steps.push({ op: 'fill', name: `${name}.bias`, value: 0 });
  };

  // 1. construction (the first wte matrix is drawn, then dropped when lm_head's replaces it)
  steps.push({ op: 'embedding', name: WTE, shape: [V, C] });
  steps.push({ op: 'embedding', name: 'transformer.wpe.weight', shape: [c.block_size, C] });
  for (const l of layers) {
    layerNormFills(`transformer.h.${l}.ln_1`);
    const [attn, proj, fc, mlpProj] = blockLinears(l);
    for (const [name, out, inn] of [attn, proj]) steps.push({ op: 'linear', name: `${name}.weight`, bias: c.bias ? `${name}.bias` : null, shape: [out, inn] });
    layerNormFills(`transformer.h.${l}.ln_2`);
    for (const [name, out, inn] of [fc, mlpProj]) steps.push({ op: 'linear', name: `${name}.weight`, bias: c.bias ? `${name}.bias` : null, shape: [out, inn] });
  }
  layerNormFills('transformer.ln_f');
  steps.push({ op: 'linear', name: WTE, bias: null, shape: [V, C] }); // lm_head, tied to wte

  // 2. self.apply(_init_weights): wte, wpe, each block's Linears, then lm_head
  steps.push({ op: 'normal', name: WTE, std: 0.02 });
  steps.push({ op: 'normal', name: 'transformer.wpe.weight', std: 0.02 });
  for (const l of layers) {
    for (const [name] of blockLinears(l)) {
      steps.push({ op: 'normal', name: `${name}.weight`, std: 0.02 });
      if (c.bias) steps.push({ op: 'fill', name: `${name}.bias`, value: 0 });
    }
  }
  steps.push({ op: 'normal', name: WTE, std: 0.02 });

  // 3. the residual projections, scaled for depth (GPT-2)
  const std = 0.02 / Math.sqrt(2 * c.n_layer);
  for (const l of layers) {
    steps.push({ op: 'normal', name: `transformer.h.${l}.attn.c_proj.weight`, std });
    steps.push({ op: 'normal', name: `transformer.h.${l}.mlp.c_proj.weight`, std });
  }
  return steps;
}

/**
 * Runs nanoGptInitOrder on `gen` (seeded by the caller, as train.py seeds before building the
 * model) and returns every parameter by its nanoGPT name, in named_parameters() order.
 * Afterwards `gen` is where nanoGPT's stream is once the model exists.
 */
export function initNanoGptWeights(c: InitConfig, gen: TorchGenerator): Map<string, Float32Array> {
  const shapes = nanoGptParameterShapes(c);
  const params = new Map<string, Float32Array>();
  for (const [name, shape] of shapes) params.set(name, new Float32Array(shape.reduce((a, b) => a * b, 1)));
  const target = (name: string): Float32Array => {
    const p = params.get(name);
    if (!p) throw new Error(`init step names ${name}, which is not a parameter of this configuration`);
    return p;
  };
  for (const s of nanoGptInitOrder(c)) {
    switch (s.op) {
      case 'embedding':
        target(s.name).set(gen.embeddingInit(s.shape[0], s.shape[1]));
        break;
      case 'linear': {
        const { weight, bias } = gen.linearInit(s.shape[0], s.shape[1], s.bias !== null);
        target(s.name).set(weight);
        if (s.bias !== null) target(s.bias).set(bias!);
        break;
      }
      case 'normal': {
        const p = target(s.name);
        p.set(gen.normal(p.length, 0, s.std));
        break;
      }
      case 'fill':
        target(s.name).fill(s.value);
        break;
    }
  }
  return params;
}

/**
 * Moves `gen` on exactly as initNanoGptWeights would, without computing or keeping a weight:
 * for models whose weights are loaded right after they are built (nanoGPT's sample.py and
 * train.py build the model, drawing its initialization, then load a checkpoint over it).
 */
export function skipNanoGptInit(c: InitConfig, gen: TorchGenerator): void {
  const shapes = nanoGptParameterShapes(c);
  const size = (name: string): number => {
    const shape = shapes.get(name);
    if (!shape) throw new Error(`init step names ${name}, which is not a parameter of this configuration`);
    return shape.reduce((a, b) => a * b, 1);
  };
  for (const s of nanoGptInitOrder(c)) {
    switch (s.op) {
      case 'embedding':
        gen.skipNormal(s.shape[0] * s.shape[1]);
        break;
      case 'linear':
        gen.skipUniform(s.shape[0] * s.shape[1]);
        if (s.bias !== null) gen.skipUniform(s.shape[0]);
        break;
      case 'normal':
        gen.skipNormal(size(s.name));
        break;
      case 'fill':
        break;
    }
  }
}
