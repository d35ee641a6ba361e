import type { Backend } from '../backend/backend.js';
import { embedding } from '../ops/embedding.js';
import { layerNorm } from '../ops/layernorm.js';
import { linear } from '../ops/linear.js';
import type { TorchGenerator } from '../tensor/torch-generator.js';
import { IntTensor, Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/**
 * Where a layer's parameters are made, and how: with a generator they get PyTorch's default
 * initialization drawn from it (nn.Linear's kaiming-uniform weight and uniform bias, nn.Embedding's
 * N(0, 1)); without one they start at zero, for a model that loads its weights afterwards.
 */
export interface ParamInit {
  backend: Backend;
  generator?: TorchGenerator;
}

function param(values: Float32Array | null, shape: number[], backend: Backend): Tensor {
  return values ? Tensor.from(values, shape, { backend }) : Tensor.zeros(shape, { backend });
}

/** y = x W^T + b with W [out, in], PyTorch's nn.Linear. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(inFeatures: number, outFeatures: number, bias: boolean, init: ParamInit) {
    super();
    const drawn = init.generator?.linearInit(outFeatures, inFeatures, bias);
    this.weight = this.registerParameter('weight', param(drawn?.weight ?? null, [outFeatures, inFeatures], init.backend));
    this.bias = bias ? this.registerParameter('bias', param(drawn?.bias ?? null, [outFeatures], init.backend)) : null;
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** Rows of a [num, dim] table picked by token ids, PyTorch's nn.Embedding. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(num: number, dim: number, init: ParamInit) {
    super();
    this.weight = this.registerParameter('weight', param(init.generator?.embeddingInit(num, dim) ?? null, [num, dim], init.backend));
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
