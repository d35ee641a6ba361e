import type { Backend } from '../backend/backend.js';
import { embedding } from '../ops/embedding.js';
import { layerNorm } from '../ops/layernorm.js';
import { linear } from '../ops/linear.js';
import type { Rng } from '../tensor/rng.js';
import { IntTensor, Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** Where a layer's parameters are made: the random stream they are drawn from and their backend. */
export interface ParamInit {
  rng: Rng;
  backend: Backend;
}

function normalTensor(shape: number[], std: number, init: ParamInit): Tensor {
  const values = new Float32Array(shape.reduce((a, d) => a * d, 1));
  for (let i = 0; i < values.length; i++) values[i] = init.rng.normal() * std;
  return Tensor.from(values, shape, { backend: init.backend });
}

/** y = x W^T + b with W [out, in]; weights drawn from N(0, std) and bias zero, as nanoGPT's _init_weights. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(inFeatures: number, outFeatures: number, bias: boolean, init: ParamInit, std = 0.02) {
    super();
    this.weight = this.registerParameter('weight', normalTensor([outFeatures, inFeatures], std, init));
    this.bias = bias ? this.registerParameter('bias', Tensor.zeros([outFeatures], { backend: init.backend })) : null;
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(num: number, dim: number, init: ParamInit, std = 0.02) {
    super();
    this.weight = this.registerParameter('weight', normalTensor([num, dim], std, init));
  }
  forward(ids: IntTensor): Tensor {
    return embedding(this.weight, ids);
  }
}

/** LayerNorm with weight 1, optional bias 0 (nanoGPT's LayerNorm with bias=False drops the bias). */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(dim: number, bias: boolean, backend: Backend, readonly eps = 1e-5) {
    super();
    this.weight = this.registerParameter('weight', Tensor.from(new Float32Array(dim).fill(1), [dim], { backend }));
    this.bias = bias ? this.registerParameter('bias', Tensor.zeros([dim], { backend })) : null;
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
