import { embedding } from '../ops/embedding.js';
import { layerNorm } from '../ops/layernorm.js';
import { linear } from '../ops/linear.js';
import type { Rng } from '../tensor/rng.js';
import { IntTensor, Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

function normalTensor(shape: number[], std: number, rng: Rng): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * std;
  return t;
}

/** y = x W^T + b with W [out, in]; weights drawn from N(0, std) and bias zero, as nanoGPT's _init_weights. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(inFeatures: number, outFeatures: number, bias: boolean, rng: Rng, std = 0.02) {
    super();
    this.weight = this.registerParameter('weight', normalTensor([outFeatures, inFeatures], std, rng));
    this.bias = bias ? this.registerParameter('bias', Tensor.zeros([outFeatures])) : null;
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(num: number, dim: number, rng: Rng, std = 0.02) {
    super();
    this.weight = this.registerParameter('weight', normalTensor([num, dim], std, rng));
  }
  forward(ids: IntTensor): Tensor {
    return embedding(this.weight, ids);
  }
}

/** LayerNorm with weight 1, optional bias 0 (nanoGPT's LayerNorm with bias=False drops the bias). */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(dim: number, bias: boolean, readonly eps = 1e-5) {
    super();
    this.weight = this.registerParameter('weight', Tensor.from(new Float32Array(dim).fill(1), [dim]));
    this.bias = bias ? this.registerParameter('bias', Tensor.zeros([dim])) : null;
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
