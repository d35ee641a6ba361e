import type { TorchGenerator } from '../tensor/torch-generator.js';
import { ensureGrad, record, Tensor } from '../tensor/tensor.js';
import { dropoutMask } from './dropout.js';

/** [B, T, C] of a fused projection qkv [B, T, 3C] split into nHead heads, or an error saying why not. */
function attentionShape(qkv: Tensor, nHead: number): [number, number, number] {
  if (qkv.ndim !== 3 || qkv.shape[2] % 3 !== 0) throw new Error(`attention: qkv must be [B, T, 3C], got [${qkv.shape.join(', ')}]`);
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  if (C % nHead !== 0) throw new Error(`attention: n_embd (${C}) must be divisible by n_head (${nHead})`);
  return [B, T, C];
}

/**
 * Causal multi-head self-attention from the fused projection qkv [B, T, 3C] (q, k, v, each
 * split into nHead heads of C / nHead) to y [B, T, C], heads re-assembled side by side.
 * With dropout p > 0 and a generator, the attention probabilities [B, H, T, T] are dropped as
 * nanoGPT's attn_dropout (its mask drawn as F.dropout draws it).
 */
export function causalSelfAttention(qkv: Tensor, nHead: number, dropout = 0, generator?: TorchGenerator): Tensor {
  const [B, T, C] = attentionShape(qkv, nHead);
  const be = qkv.backend;
  const out = Tensor.empty([B, T, C], be);
  const att = be.alloc(B * nHead * T * T);
  const mask = dropout > 0 && generator ? dropoutMask(be, B * nHead * T * T, dropout, generator) : null;
  be.attention(out.buf, att, qkv.buf, mask, B, T, C, nHead);
  out.saved.push(att);
  if (mask) out.saved.push(mask);
  return record(out, [qkv], () => {
    be.attentionBackward(ensureGrad(qkv).buf, out.grad!.buf, qkv.buf, att, mask, B, T, C, nHead);
  });
}

/**
 * causalSelfAttention for inspection (no gradient, no dropout): y [B, T, C] and the attention
 * probabilities att [B, nHead, T, T] (row t: the softmax weights position t gives to 0..t,
 * zeros above the diagonal), which the kernel computes anyway.
 */
export function causalSelfAttentionProbs(qkv: Tensor, nHead: number): { y: Tensor; att: Tensor } {
  const [B, T, C] = attentionShape(qkv, nHead);
  const be = qkv.backend;
  const y = Tensor.empty([B, T, C], be);
  const att = Tensor.zeros([B, nHead, T, T], { backend: be });
  be.attention(y.buf, att.buf, qkv.buf, null, B, T, C, nHead);
  return { y, att };
}
